return { status = "Healthy", message = require("os").date("!%j", 0) }
