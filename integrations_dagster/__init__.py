"""integrations_dagster: keep webshops, marketplaces, POS and ERP systems in sync, in Dagster."""
