"""Slack workspaces linked to the acting user's org (the gateway's OAuth install)."""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel, Field

from ...services import workspaces
from .. import threaded
from ..deps import Db, SlackLinker

router = threaded.router(prefix="/v1", tags=["slack"])


class WorkspaceIn(BaseModel):
    team_id: str = Field(max_length=32, description="the Slack team id, e.g. T0123ABCD")


class WorkspaceOut(BaseModel):
    team_id: str
    org: str


@router.post(
    "/slack/workspaces",
    response_model=WorkspaceOut,
    status_code=201,
    responses={200: {"description": "already linked"}},
)
def link_workspace(db: Db, actor: SlackLinker, body: WorkspaceIn, response: Response) -> WorkspaceOut:
    """Link the Slack workspace the acting user was verified in (X-Slack-Team) to their org. The
    acting user must be a system administrator; Slack identities count only in linked workspaces."""
    with db.session(write=True) as s:
        linked = workspaces.link_by_admin(s, actor, body.team_id)
        if not linked.created:
            response.status_code = 200
        return WorkspaceOut(team_id=linked.team_id, org=linked.org.name)
