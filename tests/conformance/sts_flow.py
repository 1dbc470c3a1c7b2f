"""STS through the official clients: AssumeRole (V3 via the STS SDK, and the legacy HMAC-SHA1
signature of the credentials library), AssumeRoleWithOIDC (anonymous), then DTS and MMS calls
signed with the temporary credentials and their security token; expired tokens are refused."""

import base64
import json
import time

from alibabacloud_credentials.provider import ram_role_arn
from alibabacloud_credentials.provider.static_ak import StaticAKCredentialsProvider
from alibabacloud_dts20200101 import models as d
from alibabacloud_dts20200101.client import Client as Dts
from alibabacloud_sts20150401 import models as s
from alibabacloud_sts20150401.client import Client as Sts
from alibabacloud_tea_openapi.models import Config

from harness import AK_ID, AK_SECRET, ENDPOINT, Flow, admin

ROLE = "acs:ram::5000000000000001:role/migration-operator"
RRSA_ROLE = "acs:ram::5000000000000001:role/migration-operator-rrsa"
PROVIDER = "acs:ram::5000000000000001:oidc-provider/ack-rrsa-c0ffee0000sandbox"


def config(key=AK_ID, secret=AK_SECRET, token=None):
    return Config(access_key_id=key, access_key_secret=secret, security_token=token,
                  endpoint=ENDPOINT, protocol="http", region_id="cn-hangzhou")


def jwt(claims):
    enc = lambda o: base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=").decode()
    return f"{enc({'alg': 'RS256', 'kid': 'sim'})}.{enc(claims)}.c2ltdWxhdGVk"


def flow(f):
    sts = f.spy(Sts(config()))
    body = f.call("AssumeRole (V3)", sts.assume_role,
                  s.AssumeRoleRequest(role_arn=ROLE, role_session_name="conformance", duration_seconds=900))
    cred = body.credentials
    f.check("temporary key shape", cred.access_key_id.startswith("STS.") and cred.security_token)
    f.expect_error("AssumeRole of an unknown role", "EntityNotExist.Role", sts.assume_role,
                   s.AssumeRoleRequest(role_arn="acs:ram::5000000000000001:role/nope", role_session_name="x1"))

    dts = f.spy(Dts(config(cred.access_key_id, cred.access_key_secret, cred.security_token)))
    f.call("DescribeDtsJobs with STS credentials", dts.describe_dts_jobs, d.DescribeDtsJobsRequest())
    who = f.spy(Sts(config(cred.access_key_id, cred.access_key_secret, cred.security_token)))
    body = f.call("GetCallerIdentity (STS)", who.get_caller_identity)
    f.check("assumed-role identity", body.identity_type == "AssumedRoleUser" and body.account_id == "5000000000000001")

    anonymous = f.spy(Sts(Config(endpoint=ENDPOINT, protocol="http", region_id="cn-hangzhou")))
    now = int(time.time())
    token = jwt({"iss": "https://oidc-ack-cn-hangzhou.oss-cn-hangzhou.aliyuncs.com/c0ffee", "aud": "sts.aliyuncs.com",
                 "sub": "system:serviceaccount:migration:operator", "iat": now, "exp": now + 3600})
    body = f.call("AssumeRoleWithOIDC (anonymous)", anonymous.assume_role_with_oidc, s.AssumeRoleWithOIDCRequest(
        role_arn=RRSA_ROLE, oidcprovider_arn=PROVIDER, oidctoken=token, role_session_name="rrsa-operator"))
    f.check("OIDC token info", body.oidctoken_info.subject == "system:serviceaccount:migration:operator")
    rrsa = body.credentials
    f.expect_error("AssumeRoleWithOIDC with a non-JWT", "InvalidParameter.OIDCToken", anonymous.assume_role_with_oidc,
                   s.AssumeRoleWithOIDCRequest(role_arn=RRSA_ROLE, oidcprovider_arn=PROVIDER, oidctoken="not-a-jwt",
                                               role_session_name="rrsa-operator"))

    # The credentials library signs AssumeRole with the legacy HMAC-SHA1 scheme over GET; it
    # insists on HTTPS, so only the scheme is switched to reach the local listener.
    original = ram_role_arn.TeaCore.do_action

    def plain_http(request, runtime=None):
        request.protocol = "http"
        return original(request, runtime)

    ram_role_arn.TeaCore.do_action = plain_http
    try:
        provider = ram_role_arn.RamRoleArnCredentialsProvider(
            credentials_provider=StaticAKCredentialsProvider(access_key_id=AK_ID, access_key_secret=AK_SECRET),
            role_arn=ROLE, role_session_name="credentials-lib", sts_endpoint=ENDPOINT)
        legacy = provider.get_credentials()
        f.check("AssumeRole (HMAC-SHA1, credentials library)", legacy.get_access_key_id().startswith("STS."))
    finally:
        ram_role_arn.TeaCore.do_action = original
    records = admin("GET", "/requests?action=AssumeRole")
    f.check("both AssumeRole signatures accepted", sum(1 for r in records if r["status"] == 200) >= 2)

    mc_dts = f.spy(Dts(config(rrsa.access_key_id, rrsa.access_key_secret, rrsa.security_token)))
    f.call("DescribeDtsJobs with RRSA credentials", mc_dts.describe_dts_jobs, d.DescribeDtsJobsRequest())
    admin("POST", "/sts/expire", {"accessKeyId": rrsa.access_key_id})
    f.expect_error("expired security token", "InvalidSecurityToken.Expired", mc_dts.describe_dts_jobs,
                   d.DescribeDtsJobsRequest())
    f.expect_error("security token of another key", "InvalidSecurityToken.MismatchWithAccessKey",
                   Dts(config(cred.access_key_id, cred.access_key_secret, rrsa.security_token)).describe_dts_jobs,
                   d.DescribeDtsJobsRequest())


if __name__ == "__main__":
    Flow("sts_flow").run(flow)
