-- Argo CD resource actions for migration.aliyun-operator.dev/Cutover. Each action only sets an
-- annotation the operator already understands (src/api/common.rs, annotations); nothing in spec
-- changes, so the Argo CD application does not go OutOfSync and Git stays the owner of spec.
-- Which actions are enabled follows status.phase (src/api/cutover.rs, CutoverPhase) and
-- status.switchStartedAt (after it, abort becomes rollback). Restricted Lua 5.1, like health.lua.

-- Phases before anything was switched: an abort leaves the application untouched.
local BEFORE_SWITCH = {
  Pending = true,
  Gating = true,
  AwaitingApproval = true,
  WaitingForWindow = true,
  DryRun = true,
  Paused = true,
}
-- Phases in which switched objects can be restored to their saved values.
local ROLLBACK_POSSIBLE = { Switching = true, Verifying = true, Completed = true, Failed = true }

local phase = nil
local switched = false
if obj.status ~= nil then
  phase = obj.status.phase
  switched = obj.status.switchStartedAt ~= nil
end
local pausedByAnnotation = false
if obj.metadata.annotations ~= nil then
  pausedByAnnotation = obj.metadata.annotations["migration.aliyun-operator.dev/paused"] == "true"
end

local actions = {}
actions["approve"] = {
  ["disabled"] = phase ~= "AwaitingApproval",
  ["iconClass"] = "fa fa-fw fa-check",
  ["displayName"] = "Approve the switch",
}
actions["abort"] = {
  ["disabled"] = switched or not (phase == nil or BEFORE_SWITCH[phase] == true),
  ["iconClass"] = "fa fa-fw fa-ban",
  ["displayName"] = "Abort before the switch",
}
actions["rollback"] = {
  ["disabled"] = not (switched and ROLLBACK_POSSIBLE[phase] == true),
  ["iconClass"] = "fa fa-fw fa-undo",
  ["displayName"] = "Roll back switched objects",
}
-- A Cutover paused by the paused annotation resumes when Git drops the annotation; resume-
-- requested-at only continues after a failed gate or an exceeded deadline.
actions["resume"] = {
  ["disabled"] = phase ~= "Paused" or pausedByAnnotation,
  ["iconClass"] = "fa fa-fw fa-play",
  ["displayName"] = "Resume after a failed gate",
}
return actions
