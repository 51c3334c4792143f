"""All ORM models, imported together so relationships resolve without cycles."""

from crm_core.models.activity import Event, Task
from crm_core.models.base import Base
from crm_core.models.campaign import (
    Campaign,
    CampaignState,
    Delivery,
    DeliveryStatus,
    SmsReport,
    SuppressedAddress,
)
from crm_core.models.cart import CartLine, TelegramCharge, TelegramPush, TelegramVisitor
from crm_core.models.catalog import PriceKind, Product, ProductGroup, ProductPrice
from crm_core.models.channels import OnlinePayment, OrderWebhookSource, PaymentNotification
from crm_core.models.contact import ContactPoint
from crm_core.models.customer import Consent, ContactPerson, Customer, CustomerTag
from crm_core.models.employee import ApiToken, Employee
from crm_core.models.enums import *  # noqa: F403
from crm_core.models.exchange import (
    ExchangeLog,
    OnecOrder,
    ProductProperty,
    Store,
    StoreOrder,
)
from crm_core.models.figures import NOBODY, CustomerOrderMarks, OrderDayFigure
from crm_core.models.form import (
    ConsentText,
    Form,
    FormPurpose,
    FormSubmission,
    SubmissionStatus,
)
from crm_core.models.invite import EmployeeInvite
from crm_core.models.invoice import Invoice, InvoiceLine
from crm_core.models.lead import HideReason, Lead, LeadState
from crm_core.models.notification import NotificationStatus, StaffNotification
from crm_core.models.office import LoginAttempt, OfficeSession
from crm_core.models.order import (
    Order,
    OrderKind,
    OrderLine,
    OrderState,
    Payment,
    Shipment,
    ShipmentLine,
)
from crm_core.models.system import (
    FirmSetting,
    HistoryEntry,
    NumberSequence,
    OutboxEvent,
    SalesPlan,
)
from crm_core.models.template import Template, TemplateKind

__all__ = [
    "NOBODY",
    "ApiToken",
    "Base",
    "Campaign",
    "CampaignState",
    "CartLine",
    "Consent",
    "ConsentText",
    "ContactPerson",
    "ContactPoint",
    "Customer",
    "CustomerOrderMarks",
    "CustomerTag",
    "Delivery",
    "DeliveryStatus",
    "Employee",
    "EmployeeInvite",
    "Event",
    "ExchangeLog",
    "FirmSetting",
    "Form",
    "FormPurpose",
    "FormSubmission",
    "HideReason",
    "HistoryEntry",
    "Invoice",
    "InvoiceLine",
    "Lead",
    "LeadState",
    "LoginAttempt",
    "NotificationStatus",
    "NumberSequence",
    "OfficeSession",
    "OnecOrder",
    "OnlinePayment",
    "Order",
    "OrderDayFigure",
    "OrderKind",
    "OrderLine",
    "OrderState",
    "OrderWebhookSource",
    "OutboxEvent",
    "Payment",
    "PaymentNotification",
    "PriceKind",
    "Product",
    "ProductGroup",
    "ProductPrice",
    "ProductProperty",
    "SalesPlan",
    "Shipment",
    "ShipmentLine",
    "SmsReport",
    "StaffNotification",
    "Store",
    "StoreOrder",
    "SubmissionStatus",
    "SuppressedAddress",
    "Task",
    "TelegramCharge",
    "TelegramPush",
    "TelegramVisitor",
    "Template",
    "TemplateKind",
]
