from tests.conftest import Member, everything


async def test_log_and_list(alice: Member) -> None:
    await alice.ok('log contact="Dana Lee" org=Acme when="yesterday 3pm" notes=hello')
    listing = await alice.ok("meetings")
    assert "Dana Lee (Acme)" in everything(listing)
