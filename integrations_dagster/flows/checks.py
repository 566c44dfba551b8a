"""The connection check (F1): one job per integration that calls every connection's test."""


from dagster import Failure, JobDefinition, OpExecutionContext, in_process_executor, job, op

from integrations_dagster.connectors.http import ApiError
from integrations_dagster.flows.pipeline import resource_key


def connection_check_job(integration: str, connections: list[str]) -> JobDefinition:
    keys = {resource_key(integration, c): c for c in connections}

    @op(name=f"{integration}_test_connections", required_resource_keys=set(keys))
    def test_connections(context: OpExecutionContext) -> None:
        failed = []
        for key, name in keys.items():
            try:
                context.log.info(f"{name}: OK — {getattr(context.resources, key).test_connection()}")
            except (ApiError, OSError) as exc:
                failed.append(f"{name}: {exc}")
                context.log.error(f"{name}: FAILED — {exc}")
        if failed:
            raise Failure("connection check failed: " + "; ".join(failed))

    @job(name=f"{integration}_check_connections", executor_def=in_process_executor,
         description="calls each connection with its credentials and says whether they work")
    def check() -> None:
        test_connections()

    return check
