"""The catalog ``/office/catalog``: goods and services with prices by price kind and
stock; search, group filter, paging; create, edit, deactivate (administrators and
managers alike: the catalog is the firm's shared work). Import is ``catalog_import.py``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from backoffice.office.deps import StaffDep
from backoffice.office.i18n import N_
from backoffice.office.pager import Pager, with_query
from backoffice.office.pages.typed_input import MAX_ID, decimal_value, query_id
from backoffice.office.templating import render
from crm_core.catalog.service import (
    create_product,
    get_product,
    list_groups,
    list_price_kinds,
    list_products,
    update_product,
)
from crm_core.errors import Conflict, ValidationFailed

router = APIRouter()
ProductId = Annotated[int, Path(ge=1, le=MAX_ID)]
SHOW = {"active": N_("On sale"), "inactive": N_("Deactivated"), "all": N_("All")}
KINDS = {"goods": N_("Goods"), "service": N_("Service")}
TEXT_FIELDS = ("name", "sku", "kind", "unit", "group", "description", "vat_rate", "stock")


@router.get("/catalog")
async def catalog(request: Request, staff: StaffDep, saved: str = "") -> Response:
    query = request.query_params
    groups = await list_groups(staff.session)
    group_id = query_id(query.get("group"))
    if group_id not in {g.id for g in groups}:
        group_id = None
    show = query.get("show") if query.get("show") in SHOW else "active"
    q = (query.get("q") or "")[:100]
    pager = Pager.of(query, 0)
    products, total = await list_products(
        staff.session,
        q=q or None,
        group=group_id,
        active={"active": True, "inactive": False}.get(show),
        limit=pager.per_page,
        offset=pager.offset,
    )
    return render(
        staff,
        "pages/catalog.html",
        section="catalog",
        notice=staff._("Saved.") if saved else "",
        products=products,
        pager=Pager.of(query, total),
        groups=groups,
        group_names={g.id: g.name for g in groups},
        group_id=group_id,
        show=show,
        shows=SHOW,
        kinds=KINDS,
        q=q,
        price_kinds=await list_price_kinds(staff.session),
        query_url=lambda **changes: with_query(query, **changes),
    )


async def _page(staff, *, product=None, values, errors=None, status_code=200, notice=""):
    return render(
        staff,
        "pages/catalog_product.html",
        status_code=status_code,
        section="catalog",
        notice=notice,
        product=product,
        values=values,
        errors=errors or {},
        kinds=KINDS,
        groups=await list_groups(staff.session),
        price_kinds=await list_price_kinds(staff.session),
    )


def _values_of(product, group_names: dict[int, str]) -> dict[str, Any]:
    values = {
        "name": product.name,
        "sku": product.sku or "",
        "kind": product.kind.value,
        "unit": product.unit,
        "group": group_names.get(product.group_id, "") if product.group_id else "",
        "description": product.description or "",
        "vat_rate": "" if product.vat_rate is None else f"{product.vat_rate.normalize():f}",
        "stock": f"{product.stock.normalize():f}",
        "active": product.active,
    }
    for price in product.prices:
        values[f"price_{price.price_kind_id}"] = f"{price.price:.2f}"
    return values


async def _form_values(request: Request, staff) -> dict[str, Any]:
    """The form as typed (re-shown when the service refuses it)."""
    form = await request.form()
    values: dict[str, Any] = {name: str(form.get(name, ""))[:20000] for name in TEXT_FIELDS}
    values["active"] = bool(form.get("active"))
    for kind in await list_price_kinds(staff.session):
        values[f"price_{kind.id}"] = str(form.get(f"price_{kind.id}", ""))[:40]
    return values


async def _fields(values: dict[str, Any], staff) -> dict[str, Any]:
    """The service's fields from the typed values."""
    prices = {
        kind.code: decimal_value(values[f"price_{kind.id}"], f"price_{kind.id}", required=False)
        for kind in await list_price_kinds(staff.session)
    }
    if values["kind"] not in KINDS:
        raise ValidationFailed(N_("Pick a value from the list"), field="kind")
    goods = values["kind"] == "goods"
    return {
        "name": values["name"],
        "sku": values["sku"] or None,
        "kind": values["kind"],
        "unit": values["unit"] or None,
        "group": values["group"].strip() or None,
        "description": values["description"] or None,
        "vat_rate": decimal_value(values["vat_rate"].rstrip("%"), "vat_rate", required=False),
        "stock": decimal_value(values["stock"], "stock", required=False) if goods else None,
        "active": values["active"],
        "prices": prices,
    }


def _status(exc) -> int:
    return 409 if isinstance(exc, Conflict) else 422


def _field(exc) -> str:
    name = exc.field or "form"
    if name.startswith("prices."):
        return "prices"
    return name


@router.get("/catalog/new")
async def new_product(staff: StaffDep) -> Response:
    values = {name: "" for name in TEXT_FIELDS} | {"kind": "goods", "active": True}
    return await _page(staff, values=values)


@router.post("/catalog/new")
async def create(request: Request, staff: StaffDep) -> Response:
    values = await _form_values(request, staff)
    try:
        fields = await _fields(values, staff)
        fields["prices"] = {k: v for k, v in fields["prices"].items() if v is not None}
        async with staff.attempt():
            product = await create_product(staff.session, **fields)
    except (ValidationFailed, Conflict) as exc:
        errors = {_field(exc): staff._(exc.message)}
        return await _page(staff, values=values, errors=errors, status_code=_status(exc))
    return RedirectResponse(f"/office/catalog/{product.id}?saved=1", status_code=303)


@router.get("/catalog/{product_id}")
async def show(product_id: ProductId, staff: StaffDep, saved: str = "") -> Response:
    product = await get_product(staff.session, product_id)
    groups = {g.id: g.name for g in await list_groups(staff.session)}
    notice = staff._("Saved.") if saved else ""
    return await _page(staff, product=product, values=_values_of(product, groups), notice=notice)


@router.post("/catalog/{product_id}")
async def save(product_id: ProductId, request: Request, staff: StaffDep) -> Response:
    product = await get_product(staff.session, product_id)
    values = await _form_values(request, staff)
    try:
        fields = await _fields(values, staff)
        async with staff.attempt():
            await update_product(staff.session, product_id, **fields)
    except (ValidationFailed, Conflict) as exc:
        product = await get_product(staff.session, product_id)  # fresh after the rollback
        errors = {_field(exc): staff._(exc.message)}
        return await _page(
            staff, product=product, values=values, errors=errors, status_code=_status(exc)
        )
    return RedirectResponse(f"/office/catalog/{product_id}?saved=1", status_code=303)


@router.post("/catalog/{product_id}/active")
async def set_active(product_id: ProductId, request: Request, staff: StaffDep) -> Response:
    """Deactivate (``active`` empty) or bring back a product; the list keeps its filters."""
    form = await request.form()
    await update_product(staff.session, product_id, active=bool(form.get("active")))
    back = str(form.get("back", ""))
    target = back if back.startswith("?") and len(back) < 2000 else "?"
    return RedirectResponse(f"/office/catalog{target}", status_code=303)
