if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
return obj
