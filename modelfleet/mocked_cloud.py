"""What the offline preview pretends the clouds answer.

`computed_outputs(type, name, inputs)` adds the outputs a real provider would compute
(ids, ARNs, endpoints) so components that read them work under mocks; `call_result(token,
args)` answers data-source invokes (cluster lookups, caller identity). Values are
recognisably fake (account 123456789012, `*.example.invalid` hosts) and never priced.
"""

from __future__ import annotations

import hashlib
from typing import Any

FAKE_ACCOUNT = "123456789012"
FAKE_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


def _aws_service(type_token: str) -> str:
    return type_token.split(":")[1].split("/")[0]


def computed_outputs(type_token: str, name: str, inputs: dict[str, Any], region: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if type_token.startswith("aws:"):
        service = _aws_service(type_token)
        resource_name = inputs.get("name") or name
        out["arn"] = f"arn:aws:{service}:{region or 'us-east-1'}:{FAKE_ACCOUNT}:{service}/{resource_name}"
        out.setdefault("name", resource_name)
        if type_token == "aws:ecr/repository:Repository":
            out["repositoryUrl"] = f"{FAKE_ACCOUNT}.dkr.ecr.{region or 'us-east-1'}.amazonaws.com/{resource_name}"
        if type_token == "aws:eks/cluster:Cluster":
            out["endpoint"] = f"https://{resource_name}.eks.example.invalid"
            out["certificateAuthority"] = {"data": "ZmFrZQ=="}
            out["identities"] = [{"oidcs": [{"issuer": _eks_issuer(region, resource_name)}]}]
    elif type_token.startswith("azure-native:"):
        resource_name = next((v for k, v in inputs.items() if k.endswith("Name") and isinstance(v, str)), name)
        out["id"] = f"/subscriptions/{FAKE_SUBSCRIPTION}/resourceGroups/rg/providers/{type_token}/{resource_name}"
        out.setdefault("name", resource_name)
        if type_token.endswith(":Registry"):
            out["loginServer"] = f"{resource_name}.azurecr.io"
        if type_token.endswith(":OnlineEndpoint"):
            out["onlineEndpointProperties"] = {**inputs.get("onlineEndpointProperties", {}),
                                               "scoringUri": f"https://{resource_name}.{region or 'eastus'}.inference.ml.azure.com/score"}
        if type_token.endswith(":ManagedCluster"):
            out["identityProfile"] = {"kubeletidentity": {"objectId": "11111111-1111-1111-1111-111111111111"}}
            out["oidcIssuerProfile"] = {"enabled": True, "issuerURL": _aks_issuer(region, resource_name)}
        if type_token.endswith(":UserAssignedIdentity"):
            out["clientId"] = "22222222-2222-2222-2222-" + hashlib.md5(resource_name.encode()).hexdigest()[:12]
            out["principalId"] = "33333333-3333-3333-3333-" + hashlib.md5(resource_name.encode()).hexdigest()[:12]
    return out


def _eks_issuer(region: str | None, cluster: str) -> str:
    """An EKS OIDC issuer URL shape (`https://oidc.eks.<region>.amazonaws.com/id/<32 hex>`), fake id."""
    return f"https://oidc.eks.{region or 'us-east-1'}.amazonaws.com/id/{hashlib.md5(cluster.encode()).hexdigest().upper()}"


def _aks_issuer(region: str | None, cluster: str) -> str:
    """An AKS OIDC issuer URL shape (`https://<region>.oic.prod-aks.azure.com/<tenant>/<guid>/`), fake ids."""
    guid = hashlib.md5(cluster.encode()).hexdigest()
    return f"https://{region or 'eastus'}.oic.prod-aks.azure.com/{FAKE_SUBSCRIPTION}/{guid[:8]}-{guid[8:12]}-{guid[12:16]}-{guid[16:20]}-{guid[20:32]}/"


def call_result(token: str, args: dict[str, Any], region: str | None) -> dict[str, Any]:
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        return {"accountId": FAKE_ACCOUNT, "arn": f"arn:aws:iam::{FAKE_ACCOUNT}:user/preview", "userId": "preview"}
    if token == "aws:index/getRegion:getRegion":
        return {"name": region or "us-east-1", "region": region or "us-east-1"}
    if token == "aws:eks/getCluster:getCluster":
        name = args.get("name", "cluster")
        return {"name": name, "arn": f"arn:aws:eks:{region}:{FAKE_ACCOUNT}:cluster/{name}",
                "endpoint": f"https://{name}.eks.example.invalid", "certificateAuthorities": [{"data": "ZmFrZQ=="}],
                "vpcConfig": {"subnetIds": ["subnet-0aaa", "subnet-0bbb"], "securityGroupIds": []},
                "roleArn": f"arn:aws:iam::{FAKE_ACCOUNT}:role/{name}-cluster", "version": "1.31",
                "identities": [{"oidcs": [{"issuer": _eks_issuer(region, name)}]}]}
    if token in ("aws:index/getAvailabilityZones:getAvailabilityZones", "aws:ec2/getAvailabilityZones:getAvailabilityZones"):
        return {"names": [f"{region}a", f"{region}b", f"{region}c"], "zoneIds": ["az1", "az2", "az3"]}
    if token == "aws:resourcegroupstaggingapi/getResources:getResources":
        # the resources a stack tagged earlier: one per filter set, named after the tag values
        values = [f["values"][0] for f in args.get("tagFilters") or [] if f.get("values")]
        kind = (args.get("resourceTypeFilters") or ["resource"])[0].split(":")[-1]
        name = "-".join(values).replace(".", "-") or "resource"
        arn = f"arn:aws:{(args.get('resourceTypeFilters') or ['x:'])[0].split(':')[0]}:{region or 'us-east-1'}:{FAKE_ACCOUNT}:{kind}/{name}"
        return {"resourceTagMappingLists": [{"resourceArn": arn, "tags": {}}]}
    if token == "aws:secretsmanager/getSecret:getSecret":  # by name: the secret's ARN ends in 6 random characters
        name = args.get("name", "secret")
        return {"name": name, "arn": f"arn:aws:secretsmanager:{region or 'us-east-1'}:{FAKE_ACCOUNT}:secret:{name}-AbCdEf"}
    if token.startswith("azure-native:containerservice:listManagedClusterUserCredentials"):
        return {"kubeconfigs": [{"name": "clusterUser", "value": "YXBpVmVyc2lvbjogdjEKa2luZDogQ29uZmlnCg=="}]}
    if token.startswith("azure-native:"):
        return {"id": f"/subscriptions/{FAKE_SUBSCRIPTION}/resourceGroups/{args.get('resourceGroupName', 'rg')}/"
                      f"providers/{token}/{args.get('resourceName', args.get('workspaceName', 'x'))}",
                "name": args.get("resourceName", args.get("workspaceName", "x")),
                "identityProfile": {"kubeletidentity": {"objectId": "11111111-1111-1111-1111-111111111111"}},
                "oidcIssuerProfile": {"enabled": True, "issuerURL": _aks_issuer(region, str(args.get("resourceName", "x")))}}
    return {}
