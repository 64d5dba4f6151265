"""OpenAPI description of the alert endpoints, hooked into ``services/search/openapi.py``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode

from common.auth import Role
from common.openapi import (
    BODY_ERRORS,
    Components,
    json_content,
    json_response,
    operation,
    path_parameter,
    query_parameters,
)
from services.alerts.models import (
    AlertList,
    AlertQuery,
    AlertView,
    OutcomeIn,
    RuleList,
    RuleView,
    Summary,
    SummaryQuery,
)
from services.alerts.rules import RuleIn

ALERT_TAGS = [
    {"name": "alert-rules", "description": "What raises an alert, how urgently, and where it is delivered."},
    {"name": "alerts", "description": "Alert history, acknowledgement, resolution and closing the loop."},
]

_UNAVAILABLE = "The search engine is unavailable (code `search_unavailable`); retry shortly."
_BODY_ERRORS: dict[int, str | None] = {
    **BODY_ERRORS,
    422: (
        "Invalid rule or body; `details` names each field (e.g. `conditions`, `quiet_hours.time_zone`, "
        "`channels[0].url` for a refused private target)."
    ),
}


def alert_models() -> list[tuple[Any, JsonSchemaMode]]:
    return [
        (RuleView, "serialization"),
        (RuleList, "serialization"),
        (AlertView, "serialization"),
        (AlertList, "serialization"),
        (Summary, "serialization"),
        (RuleIn, "validation"),
        (OutcomeIn, "validation"),
    ]


def _body(components: Components, model: type[BaseModel]) -> dict[str, Any]:
    return {"required": True, "content": json_content(components.ref(model, "validation"))}


def alert_paths(components: Components) -> dict[str, Any]:
    viewer, marketer, admin = Role.viewer, Role.marketer, Role.admin
    rule_id = path_parameter("rule_id", {"type": "string", "pattern": "^[0-9a-f]{32}$"}, "The rule's id.")
    alert_id = path_parameter("alert_id", {"type": "string"}, "The alert's id, `<tenant>.<rule id>.<mention id>`.")
    rule_view = components.ref(RuleView)
    alert_view = components.ref(AlertView)
    bad_id = "Not a rule id (code `invalid_id`)."

    def op(**kwargs: Any) -> dict[str, Any]:
        return operation(components, **kwargs)

    def workflow(name: str, summary: str, description: str, body: bool = False) -> dict[str, Any]:
        responses: dict[int, Any] = {
            200: json_response("The alert after the change.", alert_view),
            404: "No such alert for this practice.",
            409: "A concurrent change won (code `conflict`), or the alert is resolved (code `resolved`).",
            503: _UNAVAILABLE,
        }
        if body:
            responses.update(_BODY_ERRORS)
        return {
            "post": op(
                operation_id=name,
                summary=summary,
                tags=["alerts"],
                role=marketer,
                description=description,
                parameters=[alert_id],
                request_body=_body(components, OutcomeIn) if body else None,
                responses=responses,
            )
        }

    return {
        "/v1/alert-rules": {
            "get": op(
                operation_id="listAlertRules",
                summary="The practice's alert rules",
                tags=["alert-rules"],
                role=viewer,
                description="Webhook URLs are masked and secrets never returned.",
                responses={200: json_response("Rules, oldest first.", components.ref(RuleList)), 503: _UNAVAILABLE},
            ),
            "post": op(
                operation_id="createAlertRule",
                summary="Create an alert rule",
                tags=["alert-rules"],
                role=admin,
                description=(
                    "Conditions are all required; a list condition matches any of its values. Keywords match "
                    "case-insensitively on word boundaries. Competitors' mentions never match unless "
                    "`include_competitors`. Webhook targets on loopback or private addresses are refused."
                ),
                request_body=_body(components, RuleIn),
                responses={201: json_response("Created.", rule_view), **_BODY_ERRORS, 503: _UNAVAILABLE},
            ),
        },
        "/v1/alert-rules/{rule_id}": {
            "get": op(
                operation_id="getAlertRule",
                summary="One alert rule",
                tags=["alert-rules"],
                role=viewer,
                parameters=[rule_id],
                responses={
                    200: json_response("The rule.", rule_view),
                    400: bad_id,
                    404: "No such rule for this practice.",
                    503: _UNAVAILABLE,
                },
            ),
            "put": op(
                operation_id="replaceAlertRule",
                summary="Replace an alert rule",
                tags=["alert-rules"],
                role=admin,
                description="The whole rule, channels included (send webhook URLs and secrets again).",
                parameters=[rule_id],
                request_body=_body(components, RuleIn),
                responses={
                    200: json_response("Replaced.", rule_view),
                    **_BODY_ERRORS,
                    404: "No such rule for this practice.",
                    409: "Changed concurrently (code `conflict`).",
                    503: _UNAVAILABLE,
                },
            ),
            "delete": op(
                operation_id="deleteAlertRule",
                summary="Delete an alert rule",
                tags=["alert-rules"],
                role=admin,
                description="Alerts it raised stay in the history; its undelivered alerts are cancelled.",
                parameters=[rule_id],
                responses={
                    204: {"description": "Deleted."},
                    400: bad_id,
                    404: "No such rule for this practice.",
                    503: _UNAVAILABLE,
                },
            ),
        },
        "/v1/alerts": {
            "get": op(
                operation_id="listAlerts",
                summary="Alert history",
                tags=["alerts"],
                role=viewer,
                description="Newest first, filtered by state, severity, rule and the time raised.",
                parameters=query_parameters(AlertQuery),
                responses={
                    200: json_response("Alerts.", components.ref(AlertList)),
                    400: "Invalid query parameters (code `invalid_query`).",
                    503: _UNAVAILABLE,
                },
            )
        },
        "/v1/alerts/summary": {
            "get": op(
                operation_id="alertSummary",
                summary="Open alerts and time to respond, for the dashboard",
                tags=["alerts"],
                role=viewer,
                description=(
                    "Unresolved alerts (all, negative, unacknowledged, per severity) and, over the last `days`, "
                    "the median and 90th percentile of the time from an alert to its first response "
                    "(acknowledgement, outcome or resolution), with the outcomes recorded."
                ),
                parameters=query_parameters(SummaryQuery),
                responses={
                    200: json_response("The summary.", components.ref(Summary)),
                    400: "Invalid query parameters (code `invalid_query`).",
                    503: _UNAVAILABLE,
                },
            )
        },
        "/v1/alerts/{alert_id}": {
            "get": op(
                operation_id="getAlert",
                summary="One alert",
                tags=["alerts"],
                role=viewer,
                parameters=[alert_id],
                responses={
                    200: json_response("The alert.", alert_view),
                    404: "No such alert for this practice.",
                    503: _UNAVAILABLE,
                },
            )
        },
        "/v1/alerts/{alert_id}/acknowledge": workflow(
            "acknowledgeAlert", "Acknowledge an alert", "Records who and when; the first response stops the clock."
        ),
        "/v1/alerts/{alert_id}/resolve": workflow("resolveAlert", "Resolve an alert", "Records who and when."),
        "/v1/alerts/{alert_id}/outcome": workflow(
            "recordAlertOutcome",
            "Close the loop",
            "Records how the practice followed up (`replied_online`, `contacted_offline`, `no_follow_up`), who "
            "and when; resolves the alert unless `resolve` is false.",
            body=True,
        ),
    }
