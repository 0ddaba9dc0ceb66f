"""Small GraphQL helpers that create records the way a client would."""

from __future__ import annotations

from typing import Any

from client import GraphQL

CREATE_ORG = """
mutation($input: CreateOrganizationInput!) {
  createOrganization(input: $input) { id name displayName version unitType legalForm }
}"""
CREATE_CONTACT = """
mutation($input: CreateContactInput!) {
  createContact(input: $input) { id displayName firstName lastName version legalForm }
}"""
CREATE_USER = """
mutation($input: CreateUserInput!) { createUser(input: $input) { id username displayName } }"""
LINK = """
mutation($input: LinkInput!) {
  link(input: $input) { id type role since until fromId toId properties }
}"""
RECORD = """
mutation($input: RecordActivityInput!) {
  recordActivity(input: $input) { id type occurredAt summary subjectIds authorId }
}"""


async def org(gql: GraphQL, name: str, **fields: Any) -> str:
    data = await gql(CREATE_ORG, {"input": {"name": name, **fields}})
    return data["createOrganization"]["id"]


async def contact(gql: GraphQL, first: str, last: str, **fields: Any) -> str:
    data = await gql(CREATE_CONTACT, {"input": {"firstName": first, "lastName": last, **fields}})
    return data["createContact"]["id"]


async def user(gql: GraphQL, username: str, **fields: Any) -> str:
    data = await gql(
        CREATE_USER, {"input": {"username": username, "displayName": username.title(), **fields}}
    )
    return data["createUser"]["id"]


async def link(gql: GraphQL, type_: str, from_id: str, to_id: str, **fields: Any) -> dict[str, Any]:
    data = await gql(LINK, {"input": {"type": type_, "fromId": from_id, "toId": to_id, **fields}})
    return data["link"]


async def record(
    gql: GraphQL, author: str, subjects: list[str], occurred_at: str, **fields: Any
) -> dict[str, Any]:
    payload = {
        "type": "CALL",
        "summary": "call",
        "authorId": author,
        "subjectIds": subjects,
        "occurredAt": occurred_at,
        **fields,
    }
    data = await gql(RECORD, {"input": payload})
    return data["recordActivity"]


SNAPSHOT = """
{ parties(first: 500, filter: {includeArchived: true}) {
    totalCount
    edges { node {
      id version displayName archivedAt tags
      relationships(includeEnded: true) { id type since until role }
      timeline(first: 500) { edges { node { id } } }
    } }
} }"""


async def snapshot(gql: GraphQL) -> dict[str, Any]:
    """Everything a client can read of a small graph, to prove a failed write changed nothing."""
    return await gql(SNAPSHOT)
