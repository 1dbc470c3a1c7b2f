obj.metadata.labels = { ["example.com/touched"] = "true" }
return { { operation = "patch", resource = obj } }
