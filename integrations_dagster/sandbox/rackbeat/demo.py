"""Demo account of the Rackbeat sandbox: a Norwegian shop (NOK, 25 % MVA) set up the way the Rackbeat ⇄
Shopbox help page asks before installing the integration [doc: seed 003 / helpdesk ht-09002]:

* product group 1 "Varer m/lagerstrekk" with "Har lager" = yes (stock kept), and group 2 "Tjenester"
  without stock (freight);
* one location per Shopbox register: 1 "Hovedlager" (the main one, default) and 2 "Butikk Grünerløkka";
* the two custom item fields "Shopbox UID felt ID" and "Shopbox variasjonsfelt ID" (ids generated: 1, 2);
* a customer for the register's sales, products with stock per location — one whose number holds a space
  and a "/" (URL-encoding), one with a variation group "Størrelse" S/M/L (stock per variation), freight —
  and a lot (gift box: one coffee and two cups).

Loaded through the same code paths as API writes (no webhooks fire: nobody is subscribed yet).
"""

from __future__ import annotations

from decimal import Decimal

from integrations_dagster.sandbox.rackbeat.account import Account

GROUP_STOCK, GROUP_SERVICE = 1, 2
MAIN, SHOP = 1, 2
COFFEE, CUP, TSHIRT, FREIGHT, GIFT_BOX = "KAFFE-500", "KOPP HVIT/30", "TSKJORTE", "FRAKT", "GAVEESKE"
UID_FIELD, VARIATION_FIELD = "Shopbox UID felt ID", "Shopbox variasjonsfelt ID"
# number -> (name, sales price, barcode, group, {location: quantity})
PRODUCTS = {
    COFFEE: ("Kaffe mellombrent 500 g", "89.00", "7040000000017", GROUP_STOCK, {MAIN: 40, SHOP: 12}),
    CUP: ("Kopp hvit 30 cl", "59.20", "7040000000024", GROUP_STOCK, {MAIN: 24, SHOP: 6}),
    TSHIRT: ("T-skjorte logo", "199.00", "7040000000031", GROUP_STOCK, {}),
    FREIGHT: ("Frakt", "49.00", "", GROUP_SERVICE, {}),
}
TSHIRT_STOCK = {("S", MAIN): 5, ("M", MAIN): 8, ("L", MAIN): 0, ("M", SHOP): 2}


def load(acc: Account) -> None:
    cat, stock, sales = acc.catalog, acc.stock, acc.sales
    with acc.unit(suppress=True):
        cat.create_group({"number": GROUP_STOCK, "name": "Varer m/lagerstrekk", "has_inventory": True,
                          "vat_domestic": 25, "vat_eu": 0, "vat_abroad": 0, "vat_domestic_exempt": 0})
        cat.create_group({"number": GROUP_SERVICE, "name": "Tjenester", "has_inventory": False, "vat_domestic": 25})
        stock.create_location({"number": MAIN, "name": "Hovedlager"})
        stock.create_location({"number": SHOP, "name": "Butikk Grünerløkka"})
        uid = cat.create_field({"name": UID_FIELD, "type": "text", "available_for": "item"})
        cat.create_field({"name": VARIATION_FIELD, "type": "text", "available_for": "item"})
        sizes = cat.create_variation({"name": "Størrelse", "types": [{"name": "Størrelse", "options": ["S", "M", "L"]}]})
        sales.create_customer({"company_name": "Shopbox kassesalg", "contact_email": "kasse@example.no",
                               "address_city": "Oslo", "address_country": "NO", "currency": "NOK"})
        for number, (name, price, barcode, group, levels) in PRODUCTS.items():
            body = {"number": number, "name": name, "sales_price": price, "barcode": barcode, "group": group}
            if number == TSHIRT:
                body["variation_id"] = sizes["number"]
            item = cat.create_item("product", body)
            for location, quantity in levels.items():
                stock.set_count(item, stock.location(location), quantity=Decimal(quantity))
        tshirt = cat.item(TSHIRT, "product")
        by_name = {cat.variation_name(tshirt, v): v for v in cat.product_variations(tshirt)}
        for (size, location), quantity in TSHIRT_STOCK.items():
            variation = by_name[size]
            cat.update_product_variation(tshirt, variation, {"sku": f"{TSHIRT}-{size}"})
            if quantity:
                stock.set_count(tshirt, stock.location(location), quantity=Decimal(quantity), variation=variation)
        cat.set_field_values(cat.item(COFFEE), {"custom_fields": [{"id": uid["id"], "value": "sb-uid-100017"}]})
        cat.create_item("lot", {"number": GIFT_BOX, "name": "Gaveeske kaffe og kopper", "group": GROUP_STOCK,
                                "sales_price": "199.00", "lines": [{"product_id": COFFEE, "quantity": 1},
                                                                   {"product_id": CUP, "quantity": 2}]})
