"""The sync in the REST API (/api/v1/): per integration the sync log (with Retry), import
candidates (accept / reject), updates awaiting approval (approve / discard) and send all; per
record its Jira links, Send to Jira and link with an existing Jira issue.

Scoping and roles, the same as the pages: an integration, record, entry or job outside the
user's accounts is a 404; every member reads; owners, admins and contributors act; viewers get
a 403. Send all (the wizard's Enable option) is for owners and admins. Every view calls one
service or selector; refusals are ``ApplicationError``s, rendered as 400s naming the field.
"""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, permissions, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import policy
from accounts.api.tenancy import AccountPolicyMixin
from accounts.policy import Action
from core.api import ApiAutoSchema
from core.exceptions import ApplicationError
from integrations.models import Integration
from integrations.selectors import integration_get_for_user
from records.models import Record
from records.selectors import record_get

from .. import selectors
from ..models import ImportCandidate, OutboxEntry, SyncLogEntry
from ..services.bulk import bulk_send_start
from ..services.imports import (
    import_candidate_accept,
    import_candidate_reject,
    import_candidates_accept_all,
    import_candidates_reject_all,
)
from ..services.linking import record_link_existing
from ..services.outbound import (
    outbox_approve_all,
    outbox_discard_all,
    outbox_entry_approve,
    outbox_entry_discard,
    record_send_to_jira,
)
from ..services.preview import integration_send_all_preview, plan_page, record_send_preview
from ..services.retry import sync_log_entry_retry
from ..services.webhook_registration import (
    webhook_check,
    webhook_events,
    webhook_jql,
    webhook_register,
    webhook_state,
    webhook_unregister,
)
from ..webhooks.setup import webhook_url
from .serializers import (
    AcceptAllResultSerializer,
    AcceptResultSerializer,
    BulkSendJobSerializer,
    CountResultSerializer,
    ImportCandidateSerializer,
    JiraLinkStatusSerializer,
    LinkJiraIssueInSerializer,
    OutboxEntrySerializer,
    PreviewSerializer,
    RetryResultSerializer,
    SendToJiraInSerializer,
    SyncLogEntrySerializer,
)

NOT_FOUND = "Not found: it does not exist, or it is not in your account."
VIEWER_REFUSAL = (
    "Viewers can read the sync but not act on it. Ask an account admin for the contributor role."
)
MAX_ID = 2**63 - 1


def _id(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


class SyncAPIMixin(AccountPolicyMixin):
    """Loading what the URL names inside the user's accounts, and the role checks."""

    permission_classes = [permissions.IsAuthenticated]
    schema = ApiAutoSchema()

    def require_act(self, account_id: int) -> None:
        self.require(account_id, Action.EDIT, refusal=VIEWER_REFUSAL)

    def require_admin(self, account_id: int) -> None:
        self.require(account_id, Action.ADMINISTER)

    def can_admin(self, integration: Integration) -> bool:
        role = self.account_roles().get(integration.account_id)
        return policy.role_allows(role, Action.ADMINISTER)

    def integration(self) -> Integration:
        if getattr(self, "_integration", None) is None:
            pk = _id(self.kwargs.get("pk"))
            integration = (
                integration_get_for_user(user=self.request.user, integration_id=pk) if pk else None
            )
            if integration is None:
                raise NotFound(NOT_FOUND)
            self._integration = integration
        return self._integration

    def record(self) -> Record:
        if getattr(self, "_record", None) is None:
            pk = _id(self.kwargs.get("pk"))
            record = record_get(user=self.request.user, record_id=pk) if pk else None
            if record is None:
                raise NotFound(NOT_FOUND)
            self._record = record
        return self._record

    def input(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data, context={"request": self.request})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class SyncListView(SyncAPIMixin, generics.ListAPIView):
    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.serializer_class.Meta.model.objects.none()
        return self.scoped_queryset(self.integration())

    def scoped_queryset(self, integration: Integration) -> QuerySet:
        raise NotImplementedError


# -- sync log ---------------------------------------------------------------------------------


class SyncLogListView(SyncListView):
    """The integration's sync log, newest first."""

    serializer_class = SyncLogEntrySerializer

    @extend_schema(
        summary="The integration's sync log, newest first (filters: level, record, q, dates).",
        parameters=[
            OpenApiParameter("level", str, enum=[c for c, _ in SyncLogEntry.Level.choices]),
            OpenApiParameter("record", int, description="Only entries about this record id."),
            OpenApiParameter("q", str, description="Text in the message, Jira key or reference."),
            OpenApiParameter("date_from", OpenApiTypes.DATE, description="From this day on."),
            OpenApiParameter("date_to", OpenApiTypes.DATE, description="Up to this day."),
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def scoped_queryset(self, integration):
        from django import forms

        params = self.request.query_params
        level = params.get("level", "").strip()
        if level and level not in SyncLogEntry.Level.values:
            raise ApplicationError(
                f"Unknown level '{level}': use one of {', '.join(SyncLogEntry.Level.values)}.",
                field="level",
            )
        record = None
        if params.get("record", "").strip():
            record_id = _id(params["record"])
            if record_id is None:
                raise ApplicationError("Give the record as a number (its id).", field="record")
            record = Record(pk=record_id)
        dates = {}
        for name in ("date_from", "date_to"):
            raw = params.get(name, "").strip()
            if raw:
                try:
                    dates[name] = forms.DateField().clean(raw)
                except forms.ValidationError:
                    raise ApplicationError(
                        f"'{raw}' is not a date: use YYYY-MM-DD.", field=name
                    ) from None
        return selectors.sync_log_list(
            integration, level=level or None, record=record, q=params.get("q"), **dates
        ).defer("inbound_event__body", "inbound_event__headers")


class SyncLogRetryView(SyncAPIMixin, APIView):
    @extend_schema(
        request=None,
        responses=RetryResultSerializer,
        summary="Retry what a log entry is about: its failed update to Jira, or its failed "
        "Jira event. 400 when there is nothing to retry.",
    )
    def post(self, request, pk, entry_id):
        integration = self.integration()
        self.require_act(integration.account_id)
        entry = (
            SyncLogEntry.objects.filter(integration=integration, pk=_id(entry_id))
            .select_related("outbox_entry", "inbound_event")
            .first()
        )
        if entry is None:
            raise NotFound(NOT_FOUND)
        target = sync_log_entry_retry(entry=entry, user=request.user)
        kind = "outbox_entry" if isinstance(target, OutboxEntry) else "inbound_event"
        return Response({"retried": kind, "id": target.pk, "status": target.status})


# -- import candidates ------------------------------------------------------------------------


class ImportCandidateListView(SyncListView):
    serializer_class = ImportCandidateSerializer

    @extend_schema(
        summary="Jira issues waiting to be imported (status=pending by default; all: every one).",
        parameters=[
            OpenApiParameter(
                "status", str, enum=[*ImportCandidate.Status.values, "all"], default="pending"
            )
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def scoped_queryset(self, integration):
        wanted = self.request.query_params.get("status", "pending").strip() or "pending"
        if wanted != "all" and wanted not in ImportCandidate.Status.values:
            raise ApplicationError(
                f"Unknown status '{wanted}': use pending, accepted, rejected or all.",
                field="status",
            )
        return selectors.import_candidate_list(
            integration, status=None if wanted == "all" else wanted
        )


class _CandidateCommand(SyncAPIMixin, APIView):
    def candidate(self) -> ImportCandidate:
        integration = self.integration()
        self.require_act(integration.account_id)
        candidate = (
            ImportCandidate.objects.filter(
                integration=integration, pk=_id(self.kwargs.get("candidate_id"))
            )
            .select_related("record", "integration")
            .first()
        )
        if candidate is None:
            raise NotFound(NOT_FOUND)
        return candidate


class ImportCandidateAcceptView(_CandidateCommand):
    @extend_schema(
        request=None,
        responses=AcceptResultSerializer,
        summary="Accept: the record is created here and linked to the Jira issue or version.",
    )
    def post(self, request, pk, candidate_id):
        candidate = self.candidate()
        record = import_candidate_accept(candidate=candidate, user=request.user)
        candidate.refresh_from_db()
        return Response(
            {
                "candidate": ImportCandidateSerializer(candidate).data,
                "record": {"id": record.pk, "reference": record.reference},
            }
        )


class ImportCandidateRejectView(_CandidateCommand):
    @extend_schema(request=None, responses=ImportCandidateSerializer, summary="Reject.")
    def post(self, request, pk, candidate_id):
        candidate = import_candidate_reject(candidate=self.candidate(), user=request.user)
        return Response(ImportCandidateSerializer(candidate).data)


class ImportCandidatesAcceptAllView(SyncAPIMixin, APIView):
    @extend_schema(
        request=None,
        responses=AcceptAllResultSerializer,
        summary="Accept every pending candidate; one that fails is reported and left pending.",
    )
    def post(self, request, pk):
        integration = self.integration()
        self.require_act(integration.account_id)
        result = import_candidates_accept_all(integration=integration, user=request.user)
        return Response(
            {
                "accepted": [{"id": r.pk, "reference": r.reference} for r in result.accepted],
                "errors": result.errors,
            }
        )


class ImportCandidatesRejectAllView(SyncAPIMixin, APIView):
    @extend_schema(
        request=None, responses=CountResultSerializer, summary="Reject every pending candidate."
    )
    def post(self, request, pk):
        integration = self.integration()
        self.require_act(integration.account_id)
        count = import_candidates_reject_all(integration=integration, user=request.user)
        return Response({"count": count})


# -- updates awaiting approval ----------------------------------------------------------------


class UpdateListView(SyncListView):
    serializer_class = OutboxEntrySerializer

    @extend_schema(summary="Integration updates: outgoing changes awaiting approval.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def scoped_queryset(self, integration):
        return selectors.outbox_awaiting_approval(integration)


class _UpdateCommand(SyncAPIMixin, APIView):
    service = None

    def post(self, request, pk, entry_id):
        integration = self.integration()
        self.require_act(integration.account_id)
        entry = (
            OutboxEntry.objects.filter(integration=integration, pk=_id(entry_id))
            .select_related("record")
            .first()
        )
        if entry is None:
            raise NotFound(NOT_FOUND)
        entry = type(self).service(entry=entry, user=request.user)
        return Response(OutboxEntrySerializer(entry).data)


class UpdateApproveView(_UpdateCommand):
    service = staticmethod(outbox_entry_approve)

    @extend_schema(
        request=None, responses=OutboxEntrySerializer, summary="Approve: send it to Jira."
    )
    def post(self, request, pk, entry_id):
        return super().post(request, pk, entry_id)


class UpdateDiscardView(_UpdateCommand):
    service = staticmethod(outbox_entry_discard)

    @extend_schema(
        request=None, responses=OutboxEntrySerializer, summary="Discard: Jira is not changed."
    )
    def post(self, request, pk, entry_id):
        return super().post(request, pk, entry_id)


class UpdatesApproveAllView(SyncAPIMixin, APIView):
    @extend_schema(
        request=None, responses=CountResultSerializer, summary="Approve every waiting update."
    )
    def post(self, request, pk):
        integration = self.integration()
        self.require_act(integration.account_id)
        return Response({"count": outbox_approve_all(integration=integration, user=request.user)})


class UpdatesDiscardAllView(SyncAPIMixin, APIView):
    @extend_schema(
        request=None, responses=CountResultSerializer, summary="Discard every waiting update."
    )
    def post(self, request, pk):
        integration = self.integration()
        self.require_act(integration.account_id)
        return Response({"count": outbox_discard_all(integration=integration, user=request.user)})


# -- send all ---------------------------------------------------------------------------------


class SendAllView(SyncAPIMixin, APIView):
    @extend_schema(
        request=None,
        responses={202: BulkSendJobSerializer},
        summary="Send all existing records to Jira (owners and admins); follow the job at "
        "/bulk-send-jobs/{id}/.",
    )
    def post(self, request, pk):
        integration = self.integration()
        self.require_admin(integration.account_id)
        job = bulk_send_start(integration=integration, user=request.user)
        return Response(BulkSendJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class BulkSendJobView(SyncAPIMixin, APIView):
    @extend_schema(responses=BulkSendJobSerializer, summary="Progress of a send all.")
    def get(self, request, pk):
        job = selectors.bulk_send_job_get_for_user(user=request.user, job_id=pk)
        if job is None:
            raise NotFound(NOT_FOUND)
        return Response(BulkSendJobSerializer(job).data)


# -- a record's Jira side -----------------------------------------------------------------------


class _RecordCommand(SyncAPIMixin, APIView):
    def record_integration(self, record: Record, integration_id: int | None) -> Integration:
        """The integration named in the body (of the record's workspace), or the only
        enabled one when none is named."""
        if integration_id is None:
            enabled = selectors.enabled_integrations_for_workspace(record.workspace_id)
            if len(enabled) == 1:
                return enabled[0]
            raise ApplicationError(
                "This workspace has no enabled Jira integration."
                if not enabled
                else "This workspace has several Jira integrations: give the integration id.",
                field="integration",
            )
        integration = Integration.objects.filter(
            pk=integration_id, workspace_id=record.workspace_id, is_template=False
        ).first()
        if integration is None:
            raise ApplicationError(
                f"Integration {integration_id} not found in {record.reference}'s workspace.",
                field="integration",
            )
        return integration


class RecordJiraLinksView(SyncAPIMixin, APIView):
    @extend_schema(
        responses=JiraLinkStatusSerializer(many=True),
        summary="The record's Jira issue (key, URL), last sync and last error, per enabled "
        "integration of its workspace.",
    )
    def get(self, request, pk):
        statuses = selectors.record_jira_statuses(self.record())
        return Response(JiraLinkStatusSerializer(statuses, many=True).data)


class SendToJiraView(_RecordCommand):
    @extend_schema(
        request=SendToJiraInSerializer,
        responses={202: OutboxEntrySerializer},
        summary="Send to Jira: create or update the record's Jira issue (or version), parents "
        "first, in the background.",
    )
    def post(self, request, pk):
        record = self.record()
        self.require_act(record.workspace.account_id)
        data = self.input(SendToJiraInSerializer)
        integration = self.record_integration(record, data.get("integration"))
        entry = record_send_to_jira(record=record, integration=integration, user=request.user)
        return Response(OutboxEntrySerializer(entry).data, status=status.HTTP_202_ACCEPTED)


class LinkJiraIssueView(_RecordCommand):
    @extend_schema(
        request=LinkJiraIssueInSerializer,
        responses={201: JiraLinkStatusSerializer},
        summary="Link the record with an existing Jira issue, by key or URL; overwrite says "
        "which side wins the first sync. Parents must be in Jira first.",
    )
    def post(self, request, pk):
        record = self.record()
        self.require_act(record.workspace.account_id)
        data = self.input(LinkJiraIssueInSerializer)
        integration = self.record_integration(record, data.get("integration"))
        try:
            record_link_existing(
                record=record,
                integration=integration,
                key_or_url=data["key_or_url"],
                overwrite=data["overwrite"],
                user=request.user,
            )
        except ApplicationError as exc:
            # The engine calls the input "key"; here it is "key_or_url".
            if "key" in exc.fields:
                exc.fields["key_or_url"] = exc.fields.pop("key")
            raise
        (state,) = [
            s
            for s in selectors.record_jira_statuses(record, [integration])
            if s.integration.pk == integration.pk
        ]
        return Response(JiraLinkStatusSerializer(state).data, status=status.HTTP_201_CREATED)


# -- the Jira webhook registered by the product ---------------------------------------------


def _webhook_state_data(integration: Integration, state, *, can_admin: bool) -> dict:
    registration = state.registration
    last = state.last_event
    return {
        "registered": registration is not None,
        "jira_webhook_id": registration.jira_webhook_id if registration else None,
        # The token in the URL is a credential: owners and admins only.
        "url": webhook_url(integration) if can_admin else None,
        "events": registration.events if registration else webhook_events(),
        "jql": registration.jql if registration else webhook_jql(integration),
        "registered_at": registration.registered_at if registration else None,
        "checked_at": registration.checked_at if registration else None,
        "problems": state.problems,
        "last_error": registration.last_error if registration else "",
        "last_delivery": (
            {"event_type": last.event_type, "received_at": last.received_at} if last else None
        ),
    }


WebhookStateSerializer = inline_serializer(
    "JiraWebhookState",
    fields={
        "registered": serializers.BooleanField(),
        "jira_webhook_id": serializers.CharField(allow_null=True),
        "url": serializers.CharField(allow_null=True),
        "events": serializers.ListField(child=serializers.CharField()),
        "jql": serializers.CharField(),
        "registered_at": serializers.DateTimeField(allow_null=True),
        "checked_at": serializers.DateTimeField(allow_null=True),
        "problems": serializers.ListField(child=serializers.CharField()),
        "last_error": serializers.CharField(),
        "last_delivery": serializers.DictField(allow_null=True),
    },
)


class _WebhookStateMixin(SyncAPIMixin):
    def state_response(self, integration: Integration, state) -> Response:
        can_admin = self.can_admin(integration)
        return Response(_webhook_state_data(integration, state, can_admin=can_admin))


class JiraWebhookView(_WebhookStateMixin, APIView):
    @extend_schema(
        responses=WebhookStateSerializer,
        summary="The Jira webhook: registered or not, its events and JQL, the last delivery.",
    )
    def get(self, request, pk):
        integration = self.integration()
        return self.state_response(integration, webhook_state(integration))

    @extend_schema(
        request=None,
        responses={204: None},
        summary="Delete the registered webhook from Jira (owners and admins).",
    )
    def delete(self, request, pk):
        integration = self.integration()
        self.require_admin(integration.account_id)
        webhook_unregister(integration=integration)
        return Response(status=status.HTTP_204_NO_CONTENT)


class JiraWebhookRegisterView(_WebhookStateMixin, APIView):
    @extend_schema(
        request=None,
        responses=WebhookStateSerializer,
        summary="Register the webhook in Jira with the integration's credentials (owners and "
        "admins): the events the sync handles, the project's JQL and the secret. 400 with "
        'code "no_permission" when the credentials may not manage webhooks.',
    )
    def post(self, request, pk):
        integration = self.integration()
        self.require_admin(integration.account_id)
        webhook_register(integration=integration)
        return self.state_response(integration, webhook_state(integration))


class JiraWebhookCheckView(_WebhookStateMixin, APIView):
    @extend_schema(
        request=None,
        responses=WebhookStateSerializer,
        summary="Ask Jira whether the registered webhook is still there as registered.",
    )
    def post(self, request, pk):
        integration = self.integration()
        return self.state_response(integration, webhook_check(integration=integration))


# -- the dry-run preview --------------------------------------------------------------------------

_PAGE = OpenApiParameter("page", OpenApiTypes.INT, description="Page of the plan (50 items).")


class IntegrationPreviewView(SyncAPIMixin, APIView):
    @extend_schema(
        parameters=[_PAGE],
        responses=PreviewSerializer,
        summary="Preview Send all (owners and admins): what it would create, change and link "
        "in Jira, and what it would refuse and why. Reads Jira, writes nothing.",
    )
    def get(self, request, pk):
        integration = self.integration()
        self.require_admin(integration.account_id)
        plan = integration_send_all_preview(integration=integration, user=request.user)
        return Response(PreviewSerializer(plan_page(plan, request.query_params.get("page"))).data)


class RecordPreviewView(_RecordCommand):
    @extend_schema(
        parameters=[
            _PAGE,
            OpenApiParameter(
                "integration",
                OpenApiTypes.INT,
                description="Id of an enabled integration of the record's workspace; may be "
                "left out when the workspace has exactly one.",
            ),
        ],
        responses=PreviewSerializer,
        summary="Preview the record's Send to Jira: its issue or version (parents first) and "
        "its links, old -> new. Reads Jira, writes nothing.",
    )
    def get(self, request, pk):
        record = self.record()
        self.require_act(record.workspace.account_id)
        raw = request.query_params.get("integration")
        integration_id = _id(raw) if raw not in (None, "") else None
        if raw not in (None, "") and integration_id is None:
            raise ApplicationError(
                f"integration must be an integration id; '{raw}' is not.", field="integration"
            )
        integration = self.record_integration(record, integration_id)
        plan = record_send_preview(record=record, integration=integration, user=request.user)
        return Response(PreviewSerializer(plan_page(plan, request.query_params.get("page"))).data)
