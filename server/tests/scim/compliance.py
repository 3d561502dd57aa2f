"""Runs the scim2-tester compliance checks (RFC 7643/7644) against a portal's SCIM service.

Arguments: the SCIM base URL and a bearer token. Prints one line per check and exits 1 when any
check failed (or none ran). Groups are left out: the portal's one group, Administrators, cannot
be created or deleted, which the checker's create/delete round trips need; the provisioning
tests check the group themselves.
"""
import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

base, token = sys.argv[1], sys.argv[2]
client = SyncSCIMClient(Client(base_url=base, headers={"Authorization": f"Bearer {token}"}))
results = check_server(client, resource_types=["User"])
failed = [r for r in results if r.status == Status.ERROR]
for r in results:
    reason = (r.reason or "").replace("\n", " ")[:400]
    print(f"{r.status.name:8} {r.title} {r.resource_type or ''} {reason}")
print(f"{len(results)} checks, {len(failed)} failed")
sys.exit(1 if failed or not results else 0)
