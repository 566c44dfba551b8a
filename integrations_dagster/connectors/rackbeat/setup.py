"""What a Rackbeat account must hold before a till's flows run, checked by ``connect`` (read-only).

Seed 003, "Gjør deg klar — dette skal du gjøre før du installerer integrasjonen": a product group with
stock ("Varer m/lagerstrekk", "Har lager" = yes), a location per till, and two custom item fields
("Shopbox UID felt ID", "Shopbox variasjonsfelt ID") whose generated ids the settings name. Each check
names what to create, or which option to set to what the account already has.
"""

from __future__ import annotations

from integrations_dagster.connectors.base import Use
from integrations_dagster.connectors.rackbeat.adapter import Adapter

FIELD_LABELS = {"uid_field": "Shopbox UID felt ID", "variation_field": "Shopbox variasjonsfelt ID"}


def prerequisites(adapter: Adapter, uses: list[Use]) -> list[str]:
    groups = {str(g["number"]): g for g in adapter.pages("/product-groups", "product_groups")}
    locations = {str(loc["number"]) for loc in adapter.pages("/locations", "locations")}
    fields = {str(f["id"]): f for f in adapter.pages("/fields", "fields") if f.get("available_for") == "item"}
    problems = []
    if not any(g.get("has_inventory") for g in groups.values()):
        problems.append('a product group with stock: create one with "has inventory" yes (seed 003: number 1 '
                        '"Varer m/lagerstrekk")')
    for use in uses:
        options, at = use.options, f"flow {use.flow}"
        if use.entity == "products" and use.role == "target":
            named = {f"groups.{k}": str(v) for k, v in (options.get("groups") or {}).items()}
            if options.get("default_group") in (None, ""):
                problems.append(f"{at}: set default_group, the product group of a product whose category has "
                                "no mapping (seed 003: 'Standard Shopbox-gruppe')")
            else:
                named["default_group"] = str(options["default_group"])
            problems += [f"{at}: {option} names product group {number}, which Rackbeat does not have"
                         for option, number in named.items() if number not in groups]
            problems += _fields(options, fields, at)
        if use.entity == "orders" and use.role == "target":
            named = {f"locations.{k}": str(v) for k, v in (options.get("locations") or {}).items()}
            if options.get("main_location") in (None, ""):
                problems.append(f"{at}: set main_location, the location of a sale from a till without a mapping "
                                "(seed 003: 'Hovedlager i Rackbeat')")
            else:
                named["main_location"] = str(options["main_location"])
            problems += [f"{at}: {option} names location {number}, which Rackbeat does not have: create a "
                         "location for the till" for option, number in named.items() if number not in locations]
    return list(dict.fromkeys(problems))


def _fields(options: dict, fields: dict[str, dict], at: str) -> list[str]:
    out = []
    for option, label in FIELD_LABELS.items():
        given = options.get(option)
        if given not in (None, "") and str(given) in fields:
            continue
        same = [f for f in fields.values() if f.get("name", "").strip().lower() == label.lower()]
        if given not in (None, ""):
            out.append(f"{at}: {option} is {given}, but Rackbeat has no custom item field with that id"
                       + (f" (\"{label}\" is {same[0]['id']})" if same else ""))
        elif same:
            out.append(f"{at}: set {option} to {same[0]['id']}, the id of the custom item field \"{label}\"")
        else:
            out.append(f"{at}: create a custom item field \"{label}\" (a text field for items) and set {option} "
                       "to its id")
    return out
