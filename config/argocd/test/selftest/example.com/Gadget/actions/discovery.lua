local actions = {}
actions["annotate"] = { ["iconClass"] = "fa fa-fw fa-tag", ["displayName"] = "Annotate" }
actions["refuse"] = { ["disabled"] = obj.status.phase ~= "Broken" }
return actions
