local cm = {
  apiVersion = "v1",
  kind = "ConfigMap",
  metadata = { name = obj.metadata.name .. "-copy", namespace = obj.metadata.namespace },
  data = { phase = obj.status.phase },
}
return { { operation = "create", resource = cm } }
