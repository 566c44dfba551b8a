"""The account's credentials and the ``key`` recipes of API v1 and v2.

Credentials [doc: specter.zendesk.com "Ongoing": integrators get "SBMid och MD5-nycklar" by e-mail;
partner: core-suite settings "API SBM ID" (integer), "API … User ID/Key"; Vendre: API v2 — mandatory for
installations after August 2020 and for multishop — uses ApiUserKey, IntegrationKey and an optional
ApiUserId]. The sandbox is started with ``sbm_id``, ``api_user_id``, ``user_key`` and, for an API-v2
account, ``integration_key``.

Key recipes [3p], plain string concatenation, lower-case hex MD5 of the ISO-8859-1 bytes:

* v1: ``md5(userKey + sbmId + subject)`` [3p: PrestaShop module, every call];
* v2: ``md5(integrationKey + md5(userKey + sbmId + subject))`` [3p: Laravel app newOrderSubmit;
  the same two-key shape in PrestaShop's getPDFLink and its commented-out article key];

where the subject depends on the action [3p: PrestaShop module]: the ``batchNo`` for the change feeds,
their acknowledgements and ``clearArticleBatch``; the first row's ``articleNo_1`` for newArticleSubmit;
the customer's name for newCustomerSubmit (guesses.CUSTOMER_KEY_NAME); ``customerId`` for
newOrderSubmit; ``date`` for checkAccountSettings.
"""

from __future__ import annotations

from dataclasses import dataclass

from integrations_dagster.sandbox.specter import guesses
from integrations_dagster.sandbox.specter.wire import Params, Refusal, md5_hex

REQUIRED_CREDENTIALS = ("sbm_id", "api_user_id", "user_key")


@dataclass(frozen=True)
class Account:
    sbm_id: str
    api_user_id: str
    user_key: str
    integration_key: str = ""

    @classmethod
    def from_credentials(cls, credentials: dict[str, str]) -> "Account":
        missing = [name for name in REQUIRED_CREDENTIALS if not credentials.get(name)]
        if missing:
            raise ValueError(f"specter sandbox needs credentials {', '.join(missing)}")
        sbm_id = str(credentials["sbm_id"]).strip()
        if not sbm_id.isdigit():
            raise ValueError("sbm_id is an integer [partner: core-suite 'API SBM ID: Integer value']")
        return cls(sbm_id, str(credentials["api_user_id"]), str(credentials["user_key"]),
                   str(credentials.get("integration_key") or ""))

    @property
    def v2(self) -> bool:
        return bool(self.integration_key)

    def v1_key(self, subject: str) -> str:
        return md5_hex(self.user_key + self.sbm_id + subject)

    def v2_key(self, subject: str) -> str:
        return md5_hex(self.integration_key + self.v1_key(subject))

    def verify(self, params: Params, subject: str, *, v2_evidenced: bool = False) -> int:
        """The API version the request's key proves (1 or 2), or a refusal (guesses.ERR_*).
        ``v2_evidenced``: the action whose v2 recipe is seen (newOrderSubmit [3p: Laravel]); elsewhere
        v2 keys are accepted per guesses.V2_KEY_ON_EVERY_ACTION."""
        if params.text("sbmId") != self.sbm_id:
            raise Refusal(guesses.ERR_SBM_ID)
        key = params.text("key")
        if guesses.KEY_CASE_INSENSITIVE:
            key = key.lower()
        version = 0
        if self.v2 and (v2_evidenced or guesses.V2_KEY_ON_EVERY_ACTION) and key == self.v2_key(subject):
            version = 2
        elif (not self.v2 or guesses.ACCEPT_V1_WITH_V2) and key == self.v1_key(subject):
            version = 1
        if not version:
            raise Refusal(guesses.ERR_KEY)
        user = params.text("apiUserId")
        if user and user != self.api_user_id:
            raise Refusal(guesses.ERR_API_USER)
        if not user and version == 1 and guesses.API_USER_ID_REQUIRED_V1:
            raise Refusal(guesses.ERR_API_USER)
        return version


def customer_key_subject(params: Params) -> str:
    """The name a newCustomerSubmit key is made from (guesses.CUSTOMER_KEY_NAME)."""
    company, (first, last) = guesses.CUSTOMER_KEY_NAME
    if params.has(company):
        return params.text(company)
    return f"{params.text(first)} {params.text(last)}".strip()
