"""Web forms: definitions, storage-first submissions, consent evidence, retries."""

from crm_core.forms.definitions import (
    consent_text,
    create_form,
    definitions_version,
    form_by_slug,
    get_form,
    list_forms,
    public_form,
    texts_of,
    update_form,
)
from crm_core.forms.fields import check_answers, contacts_of, meta_of
from crm_core.forms.registration import active_managers
from crm_core.forms.submissions import (
    Evidence,
    Incoming,
    Stored,
    list_submissions,
    mark_failed,
    process_submission,
    receive_submission,
    receive_submissions,
    store_submission,
)
from crm_core.forms.worker import form_subscribers, process_or_record

__all__ = [
    "Evidence",
    "Incoming",
    "Stored",
    "active_managers",
    "check_answers",
    "consent_text",
    "contacts_of",
    "create_form",
    "definitions_version",
    "form_by_slug",
    "form_subscribers",
    "get_form",
    "list_forms",
    "list_submissions",
    "mark_failed",
    "meta_of",
    "process_or_record",
    "process_submission",
    "public_form",
    "receive_submission",
    "receive_submissions",
    "store_submission",
    "texts_of",
    "update_form",
]
