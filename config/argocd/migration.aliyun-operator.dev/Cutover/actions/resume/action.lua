-- Continue a Cutover paused by a failed gate or an exceeded deadline: gates are evaluated again.
-- The operator acts on any new value of the annotation
-- migration.aliyun-operator.dev/resume-requested-at; the current time (UTC, RFC 3339) makes
-- each request new.
local os = require("os")
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["migration.aliyun-operator.dev/resume-requested-at"] = os.date("!%Y-%m-%dT%H:%M:%SZ")
return obj
