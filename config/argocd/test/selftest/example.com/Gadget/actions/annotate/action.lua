local os = require("os")
obj.metadata.annotations["example.com/annotated-at"] = os.date("!%Y-%m-%dT%H:%M:%SZ")
return obj
