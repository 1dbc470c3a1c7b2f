-- Argo CD resource actions for migration.aliyun-operator.dev/Cutover. Each action only sets an
-- annotation the operator already understands (src/api/common.rs, annotations); nothing in spec
-- changes, so the Argo CD application does not go OutOfSync and Git stays the owner of spec.
-- Which actions are enabled follows status.phase (src/api/cutover/status.rs, CutoverPhase) and
-- status.switchStartedAt (after it, abort becomes rollback, except while the application is only
-- frozen: an abort then undoes the freeze). Restricted Lua 5.1, like health.lua.

-- Phases before anything was switched: an abort leaves the application untouched.
local BEFORE_SWITCH = {
  Pending = true,
  Gating = true,
  AwaitingApproval = true,
  WaitingForWindow = true,
  DryRun = true,
  Paused = true,
}
-- Switching started, nothing switched yet: an abort unfreezes and stops.
local FREEZING = { Freezing = true, Draining = true }
-- Phases in which switched (or frozen) objects can be restored to their saved values.
local ROLLBACK_POSSIBLE = {
  Freezing = true, Draining = true, Switching = true, Verifying = true, Unfreezing = true,
  Watching = true, Completed = true, Failed = true, Paused = true,
}

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
  ["disabled"] = not (FREEZING[phase] == true
    or (not switched and (phase == nil or BEFORE_SWITCH[phase] == true))),
  ["iconClass"] = "fa fa-fw fa-ban",
  ["displayName"] = "Abort before the switch",
}
actions["rollback"] = {
  ["disabled"] = not (switched and ROLLBACK_POSSIBLE[phase] == true),
  ["iconClass"] = "fa fa-fw fa-undo",
  ["displayName"] = "Roll back switched objects",
}
-- A Cutover paused by the paused annotation resumes when Git drops the annotation; resume-
-- requested-at continues after a failed gate or an exceeded deadline, or retries the failed
-- step of a switch paused by onSwitchFailure: Pause.
actions["resume"] = {
  ["disabled"] = phase ~= "Paused" or pausedByAnnotation,
  ["iconClass"] = "fa fa-fw fa-play",
  ["displayName"] = "Resume after a failed gate",
}
return actions
