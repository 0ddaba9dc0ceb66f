"""The party registry over GraphQL: create, read, update, archive, list, search."""

from __future__ import annotations

from client import GraphQL
from factories import CREATE_CONTACT, CREATE_ORG, CREATE_USER, contact, org, user

PARTY = """
query($id: ID!) { party(id: $id) {
  __typename id kind legalForm displayName version tags createdAt updatedAt archivedAt
  category { id name }
  emails { address label } phones { number label e164 }
  addresses { street postalCode city country } fiscal { vatNumber taxCode country }
  ... on Organization { name unitType }
  ... on Contact { firstName lastName }
  ... on User { username contact { id displayName } }
} }"""

UPDATE = """
mutation($id: ID!, $input: UpdatePartyInput!, $v: Int) {
  updateParty(id: $id, input: $input, expectedVersion: $v) {
    id displayName version updatedAt tags ... on Contact { firstName lastName }
  }
}"""


async def test_organization_round_trips_every_field(gql: GraphQL) -> None:
    data = await gql(
        CREATE_ORG,
        {
            "input": {
                "name": "  Nordwind Logistics AG ",
                "categoryId": "commercial-client",
                "unitType": "COMPANY",
                "emails": [{"address": "info@nordwind.example", "label": "office"}],
                "phones": [{"number": "+49 40 5550100"}],
                "addresses": [
                    {
                        "street": "Am Sandtorkai 50",
                        "postalCode": "20457",
                        "city": "Hamburg",
                        "country": "DE",
                    }
                ],
                "fiscal": {"vatNumber": "DE 811 234 565", "taxCode": "48/815/07442"},
                "tags": ["key-account"],
            }
        },
    )
    created = data["createOrganization"]
    assert created["name"] == "Nordwind Logistics AG"
    assert created["version"] == 1
    party = (await gql(PARTY, {"id": created["id"]}))["party"]
    assert party["__typename"] == "Organization"
    assert party["kind"] == "ORGANIZATION"
    assert party["legalForm"] == "LEGAL_PERSON"
    assert party["displayName"] == "Nordwind Logistics AG"
    assert party["category"] == {"id": "commercial-client", "name": "Commercial client"}
    assert party["emails"] == [{"address": "info@nordwind.example", "label": "office"}]
    assert party["phones"] == [{"number": "+49 40 5550100", "label": None, "e164": "+49405550100"}]
    assert party["addresses"][0]["city"] == "Hamburg"
    # stored compact; the tax code follows the rules of the address's country
    assert party["fiscal"] == {"vatNumber": "DE811234565", "taxCode": "4881507442", "country": "DE"}
    assert party["tags"] == ["key-account"]
    assert party["createdAt"].endswith("+00:00")
    assert party["archivedAt"] is None


async def test_contact_defaults_to_natural_person_and_derives_its_name(gql: GraphQL) -> None:
    created = (await gql(CREATE_CONTACT, {"input": {"firstName": "Jana", "lastName": "Petersen"}}))[
        "createContact"
    ]
    assert created["legalForm"] == "NATURAL_PERSON"
    assert created["displayName"] == "Jana Petersen"
    updated = (await gql(UPDATE, {"id": created["id"], "input": {"lastName": "Hansen"}}))[
        "updateParty"
    ]
    assert updated["displayName"] == "Jana Hansen"
    assert updated["version"] == 2


async def test_explicit_display_name_survives_name_changes(gql: GraphQL) -> None:
    party_id = await contact(gql, "Robert", "Miller", displayName="Bob Miller")
    updated = (await gql(UPDATE, {"id": party_id, "input": {"firstName": "Rob"}}))["updateParty"]
    assert updated["displayName"] == "Bob Miller"
    assert updated["firstName"] == "Rob"


async def test_user_links_to_its_contact(gql: GraphQL) -> None:
    person = await contact(gql, "Anna", "Keller")
    data = await gql(
        CREATE_USER,
        {
            "input": {
                "username": "anna.keller",
                "displayName": "Anna Keller",
                "email": "anna@alpine.example",
                "contactId": person,
            }
        },
    )
    party = (await gql(PARTY, {"id": data["createUser"]["id"]}))["party"]
    assert party["__typename"] == "User"
    assert party["username"] == "anna.keller"
    assert party["emails"] == [{"address": "anna@alpine.example", "label": "work"}]
    assert party["contact"] == {"id": person, "displayName": "Anna Keller"}


async def test_update_with_current_version_and_clearing_fields(gql: GraphQL) -> None:
    party_id = await contact(gql, "Eva", "Schmid", tags=["owner"])
    updated = (await gql(UPDATE, {"id": party_id, "input": {"tags": None}, "v": 1}))["updateParty"]
    assert updated["tags"] == []
    assert updated["version"] == 2
    again = (await gql(UPDATE, {"id": party_id, "input": {"tags": ["vip"]}, "v": 2}))["updateParty"]
    assert again["tags"] == ["vip"]
    assert again["version"] == 3


async def test_archive_keeps_the_party_readable_and_hides_it_from_lists(gql: GraphQL) -> None:
    party_id = await org(gql, "Old Shop")
    archived = await gql(
        "mutation($id: ID!) { archiveParty(id: $id) { archivedAt version } }", {"id": party_id}
    )
    assert archived["archiveParty"]["archivedAt"] is not None
    assert archived["archiveParty"]["version"] == 2
    assert (await gql(PARTY, {"id": party_id}))["party"]["archivedAt"] is not None
    listed = await gql("{ parties(filter: {kinds: [ORGANIZATION]}) { totalCount } }")
    assert listed["parties"]["totalCount"] == 0
    everything = await gql(
        "{ parties(filter: {kinds: [ORGANIZATION], includeArchived: true}) { totalCount } }"
    )
    assert everything["parties"]["totalCount"] == 1


async def test_unknown_ids_read_as_null(gql: GraphQL) -> None:
    data = await gql(
        '{ party(id: "nope") { id } node(id: "nope") { id } }',
    )
    assert data == {"party": None, "node": None}


async def test_node_resolves_parties_relationships_and_activities(gql: GraphQL) -> None:
    company = await org(gql, "Acme")
    person = await contact(gql, "Ada", "Lovelace")
    author = await user(gql, "ada.admin")
    rel = await gql(
        "mutation($i: LinkInput!) { link(input: $i) { id } }",
        {"i": {"type": "EMPLOYS", "fromId": company, "toId": person}},
    )
    act = await gql(
        "mutation($i: RecordActivityInput!) { recordActivity(input: $i) { id } }",
        {"i": {"type": "NOTE", "summary": "hello", "authorId": author, "subjectIds": [person]}},
    )
    query = """query($id: ID!) { node(id: $id) { __typename id
        ... on Relationship { type } ... on Activity { summary } ... on Contact { lastName } } }"""
    rel_node = (await gql(query, {"id": rel["link"]["id"]}))["node"]
    assert rel_node["__typename"] == "Relationship" and rel_node["type"] == "EMPLOYS"
    act_node = (await gql(query, {"id": act["recordActivity"]["id"]}))["node"]
    assert act_node == {
        "__typename": "Activity",
        "id": act["recordActivity"]["id"],
        "summary": "hello",
    }
    person_node = (await gql(query, {"id": person}))["node"]
    assert person_node["__typename"] == "Contact" and person_node["lastName"] == "Lovelace"


async def test_filters_combine(gql: GraphQL) -> None:
    await org(
        gql, "Club A", legalForm="ASSOCIATION", categoryId="association", tags=["sports", "youth"]
    )
    await org(gql, "Club B", legalForm="ASSOCIATION", categoryId="association", tags=["sports"])
    await org(gql, "Corp C", categoryId="commercial-client", tags=["sports", "youth"])
    await contact(gql, "Paul", "Berger", categoryId="private-client", tags=["youth"])
    await user(gql, "marco")

    async def names(filter_: dict) -> list[str]:
        data = await gql(
            "query($f: PartyFilter) { parties(filter: $f) "
            "{ totalCount edges { node { displayName } } } }",
            {"f": filter_},
        )
        found = [e["node"]["displayName"] for e in data["parties"]["edges"]]
        assert data["parties"]["totalCount"] == len(found)
        return sorted(found)

    assert await names({"kinds": ["CONTACT"]}) == ["Paul Berger"]
    assert await names({"kinds": ["ORGANIZATION", "USER"]}) == [
        "Club A",
        "Club B",
        "Corp C",
        "Marco",
        "admin",  # who the test signs in as
    ]
    assert await names({"legalForms": ["ASSOCIATION"]}) == ["Club A", "Club B"]
    assert await names({"categoryIds": ["association", "private-client"]}) == [
        "Club A",
        "Club B",
        "Paul Berger",
    ]
    assert await names({"tags": ["sports", "youth"]}) == ["Club A", "Corp C"]
    assert await names({"tags": ["youth"], "kinds": ["ORGANIZATION"]}) == ["Club A", "Corp C"]


async def test_search_matches_names_emails_and_tax_codes(gql: GraphQL) -> None:
    await contact(gql, "Jürgen", "Köhler", emails=[{"address": "jk@firma.example"}])
    fiscal = {"taxCode": "81-123/4566", "vatNumber": "ATU87654324", "country": "AT"}
    await org(gql, "Bäckerei Huber KG", fiscal=fiscal)
    await contact(gql, "Sofia", "Marino")

    async def search(text: str) -> list[str]:
        data = await gql(
            "query($s: String) { parties(search: $s) { edges { node { displayName } } } }",
            {"s": text},
        )
        return sorted(e["node"]["displayName"] for e in data["parties"]["edges"])

    assert await search("juergen") == []
    assert await search("jurgen") == ["Jürgen Köhler"]  # diacritics folded
    assert await search("köh") == ["Jürgen Köhler"]  # prefixes
    assert await search("firma.example") == ["Jürgen Köhler"]
    assert await search("811234566") == ["Bäckerei Huber KG"]
    assert await search("ATU8765") == ["Bäckerei Huber KG"]
    assert await search("sofia marino") == ["Sofia Marino"]
    assert await search('sofia "OR" x') == []  # user text is never FTS syntax


async def test_pages_walk_every_party_once(gql: GraphQL) -> None:
    created = [await contact(gql, "Person", f"No{i:02d}") for i in range(7)]
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        data = await gql(
            "query($a: String) { parties(first: 3, after: $a, filter: {kinds: [CONTACT]}) "
            "{ totalCount "
            "pageInfo { hasNextPage endCursor } edges { cursor node { id } } } }",
            {"a": after},
        )
        connection = data["parties"]
        assert connection["totalCount"] == 7
        seen += [e["node"]["id"] for e in connection["edges"]]
        pages += 1
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
        assert after == connection["edges"][-1]["cursor"]
    assert seen == created  # creation order, none repeated or skipped
    assert pages == 3


async def test_categories_are_seeded(gql: GraphQL) -> None:
    data = await gql("{ categories { id name legalForms unitTypes } }")
    ids = {c["id"] for c in data["categories"]}
    assert {
        "private-client",
        "commercial-client",
        "association",
        "umbrella-organization",
        "owners-association",
        "community-of-heirs",
    } <= ids
    heirs = next(c for c in data["categories"] if c["id"] == "community-of-heirs")
    assert heirs["legalForms"] == ["ASSOCIATION"]


async def test_total_count_is_counted_through_fragments_too(gql: GraphQL) -> None:
    await contact(gql, "Ada", "Lovelace")
    data = await gql(
        """{ plain: parties(filter: {kinds: [CONTACT]}) { edges { node { id } } }
             viaFragment: parties(filter: {kinds: [CONTACT]}) { ...Counted }
             inline: parties(filter: {kinds: [CONTACT]}) {
               ... on PartyConnection { total: totalCount } } }
           fragment Counted on PartyConnection { totalCount }"""
    )
    assert data["viaFragment"] == {"totalCount": 1}
    assert data["inline"] == {"total": 1}
    assert len(data["plain"]["edges"]) == 1


async def test_a_new_party_may_be_filed_as_it_is_made(gql: GraphQL) -> None:
    """parentId files an organization PART_OF, a contact MEMBER_OF, in the same write; a
    parent that is missing or cannot hold it writes nothing."""
    parent = await org(gql, "Parent Co")
    made = await gql(
        'mutation($p: ID!) { unit: createOrganization(input: {name: "Unit", parentId: $p}) '
        '{ id ancestors { id } } person: createContact(input: {lastName: "Lea", parentId: $p}) '
        "{ id relationships { type toId } } }",
        {"p": parent},
    )
    assert made["unit"]["ancestors"] == [{"id": parent}]
    assert made["person"]["relationships"] == [{"type": "MEMBER_OF", "toId": parent}]
    person = made["person"]["id"]
    before = await gql("{ parties { totalCount } }")
    for parent_id, code in (("no-such-party", "NOT_FOUND"), (person, "BAD_USER_INPUT")):
        error = await gql.error(
            'mutation($p: ID!) { createContact(input: {lastName: "X", parentId: $p}) { id } }',
            {"p": parent_id},
        )
        assert error["extensions"]["code"] == code
    assert await gql("{ parties { totalCount } }") == before
