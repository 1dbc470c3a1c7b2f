local os = require("os") local t = os.time() if type(t) == "number" and os.date("!%Y") ~= nil then return { status = "Healthy", message = "os.time and os.date" } end
