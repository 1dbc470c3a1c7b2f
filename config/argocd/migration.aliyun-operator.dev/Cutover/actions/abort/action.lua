-- Abort the Cutover before the switch: nothing is changed, the phase becomes Aborted.
-- The operator acts on any new value of the annotation
-- migration.aliyun-operator.dev/abort-requested-at; the current time (UTC, RFC 3339) makes
-- each request new.
local os = require("os")
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["migration.aliyun-operator.dev/abort-requested-at"] = os.date("!%Y-%m-%dT%H:%M:%SZ")
return obj
