-- Restore every switched object to its saved value (status.saved); the phase becomes RolledBack.
-- The operator acts on any new value of the annotation
-- migration.aliyun-operator.dev/rollback-requested-at; the current time (UTC, RFC 3339) makes
-- each request new.
local os = require("os")
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["migration.aliyun-operator.dev/rollback-requested-at"] = os.date("!%Y-%m-%dT%H:%M:%SZ")
return obj
