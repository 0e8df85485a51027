{{/*
Where each .Values.prometheusRule.thresholds key lives in grafana/rules: the rule (alert or
record name) and a regular expression whose first group is kept and whose number after it is
replaced by the value (a further group, if any, is kept too). Rendering fails when a
configured threshold no longer matches its rule, so a change of grafana/rules cannot make an
override silently ineffective (tests set every threshold).
*/}}
{{- define "toggl-focus-exporter.thresholdDefinitions" -}}
overcapacityTolerance:
  rule: "toggl_focus:capacity_overbooked:bool"
  regex: '(toggl_focus_capacity_working_seconds \* )[0-9]+(?:\.[0-9]+)?'
nextWorkingDays:
  rule: "toggl_focus:capacity_next_working_days:offset_days"
  regex: '(bottomk without \(date\) \()[0-9]+'
sustainedOvercapacityDays:
  rule: TogglFocusSustainedOvercapacity
  regex: '(toggl_focus:entity_overbooked_next_working_days:count >= )[0-9]+'
staleRefreshIntervals:
  rule: TogglFocusDataStale
  regex: '(toggl_focus_refresh_interval_seconds \* )[0-9]+(?:\.[0-9]+)?'
staleMinimumSeconds:
  rule: TogglFocusDataStale
  regex: '(clamp_min\(toggl_focus_refresh_interval_seconds \* [0-9.]+, )[0-9]+(?:\.[0-9]+)?'
{{- end }}

{{/*
Apply the configured thresholds to one rule. Call with (dict "rule" $rule "thresholds"
$values.thresholds); returns the expression (unchanged when no threshold applies).
*/}}
{{- define "toggl-focus-exporter.ruleExpr" -}}
{{- $name := default .rule.record .rule.alert }}
{{- $expr := .rule.expr }}
{{- $defs := include "toggl-focus-exporter.thresholdDefinitions" . | fromYaml }}
{{- range $key, $def := $defs }}
{{- $value := get $.thresholds $key }}
{{- if and (eq $def.rule $name) (not (kindIs "invalid" $value)) (not (eq (toString $value) "")) }}
{{- if not (regexMatch $def.regex $expr) }}
{{- fail (printf "prometheusRule.thresholds.%s: pattern %q not found in rule %s; the chart is out of date with grafana/rules" $key $def.regex $name) }}
{{- end }}
{{- $expr = regexReplaceAll $def.regex $expr (printf "${1}%s" (include "toggl-focus-exporter.envValue" $value)) }}
{{- end }}
{{- end }}
{{- $expr }}
{{- end }}
