"""What the WooCommerce webhook emulation assumes without evidence (each is a guess, kept here so it
can be found and replaced when evidence turns up). Everything else in :mod:`.webhooks` is cited.
"""

from __future__ import annotations

# The ping's Content-Type. WooCommerce posts the string body ``webhook_id=<id>`` with
# ``wp_safe_remote_post`` and sets no Content-Type itself [source: includes/class-wc-webhook.php
# deliver_ping]; WordPress's HTTP API is assumed to add the form one. No evidence.
PING_CONTENT_TYPE = "application/x-www-form-urlencoded"

# Delivery ids are unique per delivery here. WooCommerce's is ``wp_hash(id . strtotime('now'))``
# [source: class-wc-webhook.php get_new_delivery_id], so two deliveries of one webhook in the same
# second share an id there; the sandbox adds a counter so that a test can tell them apart.
UNIQUE_DELIVERY_IDS = True

# A webhook's ``date_modified`` moves on REST updates and when the webhook is disabled by failures,
# not when its (hidden) failure count changes after a delivery. No evidence either way.
DISABLE_MOVES_DATE_MODIFIED = True

# Order events: creating an order fires ``order.created`` only (WooCommerce may also fire
# ``woocommerce_update_order`` while the REST controller saves a new order again: not emulated).
# Likewise a new product or customer fires only its ``*.created``. No evidence.
CREATE_FIRES_UPDATED_TOO = False

# A ``product.*`` delivery about a variation (``woocommerce_new_product_variation`` /
# ``woocommerce_update_product_variation`` hand the variation's id to the product topics) carries
# ``GET /wc/v3/products/<variation id>`` [source: class-wc-webhook.php get_wp_api_payload]. What the
# products controller answers for a variation id is shown as the products list shows a variation
# (``views.present(..., listed_as="products")``, links self/collection/up): the products
# controller's own extra fields for a variation are not emulated. Partly a guess.
VARIATION_PAYLOAD_AS_PRODUCTS_LIST = True

# Deliveries of one request go out in hook order: the changed object's own hooks first, the parent
# product saved by the deferred sync (at the request's shutdown) last. The order within WooCommerce's
# Action Scheduler queue after that is not documented.
PARENT_SYNC_LAST = True
