"""An agent's transcript: its turns, tool calls with their arguments (secrets masked), tool
results and the usage of each model turn, a page at a time."""

from __future__ import annotations

from typing import TYPE_CHECKING

import azure.durable_functions as df

from api.auth import Role
from api.operation import Operations, Reply, Response

if TYPE_CHECKING:
    from api.schemas import DeploymentId, TranscriptQuery

bp = df.Blueprint()
http = Operations(bp, tag="deployments")


@http.get(
    "deployments/{deployment_id}/transcript",
    "getDeploymentTranscript",
    role=Role.READER,
    responses={200: Response("TranscriptPage", "Transcript entries in order")},
    problems=(404,),
)
async def get_deployment_transcript(deployment_id: DeploymentId, query: TranscriptQuery) -> Reply:
    """An agent's transcript (empty for workloads that keep none)."""
    from api.schemas import TranscriptPage
    from haymaker.runtime import get_runtime

    stores = get_runtime().stores()
    record = await stores.deployments.get(deployment_id)
    items = await stores.transcripts.read(deployment_id, after=query.after, limit=query.limit)
    total = int(record.state.metadata.get("transcript_entries") or 0)
    cursor = items[-1].index if items else (query.after if query.after is not None else -1)
    page = TranscriptPage(
        deployment_id=deployment_id, items=items, cursor=cursor, total=max(total, cursor + 1)
    )
    return Reply(page)
