// Validates Argo Workflows templates against the published schema
// (@kubernetes-models/argo-workflows) and checks that every volumeMount
// names a declared volume or volume claim template, which the schema
// cannot express; exits 1 on any finding.
import fs from "node:fs";
import YAML from "yaml";
import { WorkflowTemplate } from "@kubernetes-models/argo-workflows/argoproj.io/v1alpha1/WorkflowTemplate";

let bad = 0;
for (const f of process.argv.slice(2)) {
  const doc = YAML.parse(fs.readFileSync(f, "utf8"));
  try {
    new WorkflowTemplate(doc).validate();
  } catch (e) {
    console.log(`${f}: ${e.message}`);
    bad++;
  }
  const spec = doc?.spec ?? {};
  const declared = new Set([
    ...(spec.volumes ?? []).map((v) => v.name),
    ...(spec.volumeClaimTemplates ?? []).map((v) => v.metadata?.name),
  ]);
  for (const t of spec.templates ?? []) {
    for (const m of t.container?.volumeMounts ?? []) {
      if (!declared.has(m.name)) {
        console.log(`${f}: template ${t.name} mounts volume ${m.name}, which is not declared`);
        bad++;
      }
    }
  }
}
process.exit(bad ? 1 : 0);
