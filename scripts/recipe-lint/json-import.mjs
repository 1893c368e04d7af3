// Lets Node 20 import the JSON files @actions/workflow-parser imports
// without an import attribute.
import { register } from "node:module";
register("data:text/javascript," + encodeURIComponent(`
export async function load(url, context, next) {
  if (url.endsWith(".json")) {
    return next(url, { ...context, importAttributes: { type: "json" } });
  }
  return next(url, context);
}`));
