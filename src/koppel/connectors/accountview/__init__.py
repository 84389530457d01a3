"""The AccountView connector: a client for the AccountView.net web API (v3) and its sandbox.

Flows import from here: `AccountViewClient`, its options and installation profile, the token stores and
the models. The sandbox lives in `koppel.connectors.accountview.sandbox`.
"""

from koppel.connectors.accountview.client import AccountViewClient, AccountViewOptions, WriteResult
from koppel.connectors.accountview.models import (
    Address,
    Article,
    ArticleGroup,
    ArticleImage,
    ArticleSelection,
    ArticleStock,
    Company,
    ContactPerson,
    Debtor,
    DebtorIn,
    DeliveryAddress,
    DeliveryAddressIn,
    FieldWarning,
    Journal,
    LedgerAccount,
    PaymentCondition,
    PaymentMethod,
    SalesInvoice,
    SalesInvoiceIn,
    SalesInvoiceLine,
    SalesInvoiceLineIn,
    SalesOrder,
    SalesOrderIn,
    SalesOrderLine,
    SalesOrderLineIn,
    VatCode,
)
from koppel.connectors.accountview.oauth import FileTokenStore, MemoryTokenStore, TokenSet, TokenStore
from koppel.connectors.accountview.profile import AccountViewProfile
from koppel.connectors.accountview.wire import Filter

__all__ = [
    "AccountViewClient",
    "AccountViewOptions",
    "AccountViewProfile",
    "Address",
    "Article",
    "ArticleGroup",
    "ArticleImage",
    "ArticleSelection",
    "ArticleStock",
    "Company",
    "ContactPerson",
    "Debtor",
    "DebtorIn",
    "DeliveryAddress",
    "DeliveryAddressIn",
    "FieldWarning",
    "FileTokenStore",
    "Filter",
    "Journal",
    "LedgerAccount",
    "MemoryTokenStore",
    "PaymentCondition",
    "PaymentMethod",
    "SalesInvoice",
    "SalesInvoiceIn",
    "SalesInvoiceLine",
    "SalesInvoiceLineIn",
    "SalesOrder",
    "SalesOrderIn",
    "SalesOrderLine",
    "SalesOrderLineIn",
    "TokenSet",
    "TokenStore",
    "VatCode",
    "WriteResult",
]
