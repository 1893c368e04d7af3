// Parses GitHub Actions workflow files with GitHub's own parser
// (@actions/workflow-parser, what the Actions VS Code extension uses) and
// prints every error; exits 1 if there is one.
import fs from "node:fs";
import YAML from "yaml";
import {
  parseWorkflow,
  convertWorkflowTemplate,
  NoOperationTraceWriter,
} from "@actions/workflow-parser";

let bad = 0;
for (const name of process.argv.slice(2)) {
  const content = fs.readFileSync(name, "utf8");
  const parsed = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  const seen = new Set(parsed.context.errors.getErrors().map((e) => e.message));
  if (parsed.value) {
    const template = await convertWorkflowTemplate(parsed.context, parsed.value);
    for (const e of template.errors ?? []) seen.add(e.Message ?? e.message);
  } else {
    seen.add(`${name}: not a workflow`);
  }
  // Interpolating an input into a `run:` script lets whoever sets the input
  // run commands (GitHub's script-injection guidance): pass it through env.
  const doc = YAML.parse(content);
  for (const [job, body] of Object.entries(doc?.jobs ?? {})) {
    for (const [i, step] of (body?.steps ?? []).entries()) {
      if (/\$\{\{\s*(inputs|github\.event)\./.test(step?.run ?? "")) {
        seen.add(`${name}: job ${job}, step ${i + 1}: an input is interpolated into run:; pass it through env`);
      }
    }
  }
  for (const m of seen) {
    console.log(m);
    bad++;
  }
}
process.exit(bad ? 1 : 0);
