-- Approve the switch (gates.requireApproval): the operator records the approver from this
-- annotation in status.approval. Argo CD's audit event for the action names the user who ran it.
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["migration.aliyun-operator.dev/approved-by"] = "argocd"
return obj
