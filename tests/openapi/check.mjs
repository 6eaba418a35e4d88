// What tests/t/openapi.t asks of docs/openapi.yaml, answered as JSON on
// standard output:
//
//   node check.mjs validate FILE   the OpenAPI 3.1 validator's verdict, and
//                                  every schema compiled by a strict JSON
//                                  Schema 2020-12 validator (an unknown or
//                                  misspelt keyword, a $ref that leads
//                                  nowhere), and the JSON examples checked
//                                  against their schemas: {"valid",
//                                  "version", "errors"}
//   node check.mjs describe FILE   the operations: method, path, roles,
//                                  preview roles, query parameters (name,
//                                  enum, required), documented statuses
//   node check.mjs replies FILE    reads [{method, path, status,
//                                  content_type, body}] (path as in the
//                                  document) on standard input and answers,
//                                  for each, whether the status is
//                                  documented for the operation and the
//                                  body matches the documented schema of
//                                  that status and media type: [{"ok",
//                                  "why"}].  Objects are checked closed: a
//                                  member the schema does not name fails.
//   node check.mjs requests FILE   reads [{method, path, content_type, body}]
//                                  and answers whether each body matches
//                                  the operation's documented request body.
//
// The packages are pinned in package-lock.json (npm ci, scripts/install-deps).
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020Module from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import YAML from "yaml";

const Ajv2020 = Ajv2020Module.default ?? Ajv2020Module;
const addFormats = addFormatsModule.default ?? addFormatsModule;
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const DEFS = "urn:effortd:openapi:schemas";

function load(file) {
	const doc = YAML.parseDocument(readFileSync(file, "utf8"));
	if (doc.errors.length > 0)
		throw new Error(`${file}: ${doc.errors[0].message}`);
	return doc.toJS({ maxAliasCount: -1 });
}

// A deep copy with "#/components/schemas/X" references pointing into the
// schema collection ajv knows as DEFS; closed: objects that name their
// properties and say nothing of others get additionalProperties false.
function rewrite(schema, closed) {
	if (Array.isArray(schema))
		return schema.map((s) => rewrite(s, closed));
	if (schema === null || typeof schema !== "object")
		return schema;
	const out = {};
	for (const [k, v] of Object.entries(schema)) {
		if (k === "$ref" && typeof v === "string" && v.startsWith("#/components/schemas/"))
			out[k] = `${DEFS}#/$defs/${v.slice("#/components/schemas/".length)}`;
		else if (k === "properties" || k === "$defs")
			out[k] = Object.fromEntries(Object.entries(v).map(([n, s]) => [n, rewrite(s, closed)]));
		else if (k === "enum" || k === "const" || k === "examples" || k === "required")
			out[k] = v;
		else
			out[k] = rewrite(v, closed);
	}
	if (closed && out.properties && out.additionalProperties === undefined)
		out.additionalProperties = false;
	return out;
}

function newAjv(spec, closed) {
	const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
	addFormats(ajv);
	ajv.addSchema({ $id: DEFS, $defs: rewrite(spec.components?.schemas ?? {}, closed) });
	return ajv;
}

function pointer(...parts) {
	return "#/" + parts.map((p) => String(p).replaceAll("~", "~0").replaceAll("/", "~1")).join("/");
}

// Follows a "#/components/..." reference (responses, parameters).
function deref(spec, obj) {
	while (obj && typeof obj.$ref === "string") {
		const parts = obj.$ref.replace(/^#\//, "").split("/")
			.map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"));
		obj = parts.reduce((o, p) => (o === undefined ? undefined : o[p]), spec);
		if (obj === undefined)
			throw new Error(`unresolved reference`);
	}
	return obj;
}

function* operations(spec) {
	for (const [path, item] of Object.entries(spec.paths ?? {}))
		for (const method of METHODS)
			if (item[method])
				yield { path, method, item, op: item[method] };
}

// Every schema of the document: its place and the schema.
function* schemas(spec) {
	for (const [name, s] of Object.entries(spec.components?.schemas ?? {}))
		yield [pointer("components", "schemas", name), s];
	for (const { path, method, item, op } of operations(spec)) {
		for (const p of [...(item.parameters ?? []), ...(op.parameters ?? [])]) {
			const param = deref(spec, p);
			if (param.schema)
				yield [pointer("paths", path, method, "parameters", param.name), param.schema];
		}
		const body = op.requestBody ? deref(spec, op.requestBody) : null;
		for (const [type, media] of Object.entries(body?.content ?? {}))
			if (media.schema)
				yield [pointer("paths", path, method, "requestBody", "content", type), media.schema];
		for (const [status, r] of Object.entries(op.responses ?? {}))
			for (const [type, media] of Object.entries(deref(spec, r).content ?? {}))
				if (media.schema)
					yield [pointer("paths", path, method, "responses", status, "content", type), media.schema];
	}
}

async function validate(file) {
	const validator = new Validator();
	const res = await validator.validate(file);
	const errors = res.valid ? [] : [].concat(res.errors);
	if (res.valid && !String(validator.version).startsWith("3.1"))
		errors.push(`OpenAPI version ${validator.version}, not 3.1`);
	if (res.valid) {
		const spec = load(file);
		let ajv;
		try {
			ajv = newAjv(spec, false);
		} catch (e) {
			errors.push(`components/schemas: ${e.message}`);
		}
		for (const [where, s] of ajv ? schemas(spec) : []) {
			try {
				ajv.compile(rewrite(s, false));
			} catch (e) {
				errors.push(`${where}: ${e.message}`);
			}
		}
		if (ajv && errors.length === 0)
			errors.push(...exampleErrors(spec, newAjv(spec, true)));
	}
	return { valid: errors.length === 0, version: validator.version ?? null, errors };
}

function roleList(security) {
	return security.flatMap((req) => Object.values(req).flat());
}

function describe(file) {
	const spec = load(file);
	const out = [];
	for (const { path, method, item, op } of operations(spec)) {
		const security = op.security ?? spec.security ?? [];
		const query = [...(item.parameters ?? []), ...(op.parameters ?? [])]
			.map((p) => deref(spec, p)).filter((p) => p.in === "query")
			.map((p) => ({ name: p.name, required: !!p.required, enum: (p.schema ? deref(spec, p.schema) : {}).enum ?? null }));
		out.push({
			method: method.toUpperCase(), path,
			token: security.length > 0,
			roles: roleList(security),
			preview_roles: op["x-effortd-preview-roles"] ?? [],
			query,
			statuses: Object.keys(op.responses ?? {}),
		});
	}
	return out;
}

function replies(file, input) {
	const spec = load(file);
	const ajv = newAjv(spec, true);
	const compiled = new Map();
	return input.map((r) => {
		const op = spec.paths?.[r.path]?.[String(r.method).toLowerCase()];
		if (!op)
			return { ok: false, why: `${r.method} ${r.path} is not in the document` };
		const response = op.responses?.[String(r.status)];
		if (!response)
			return { ok: false, why: `status ${r.status} is not documented for ${r.method} ${r.path}` };
		const type = String(r.content_type ?? "").split(";")[0].trim().toLowerCase();
		const media = deref(spec, response).content?.[type];
		if (!media)
			return { ok: false, why: `${r.status} ${type} is not documented for ${r.method} ${r.path}` };
		const key = `${r.path} ${r.method} ${r.status} ${type}`;
		if (!compiled.has(key))
			compiled.set(key, ajv.compile(rewrite(media.schema ?? {}, true)));
		const check = compiled.get(key);
		if (check(r.body))
			return { ok: true };
		return { ok: false, why: ajv.errorsText(check.errors, { separator: "; ", dataVar: "body" }) };
	});
}

function requests(file, input) {
	const spec = load(file);
	const ajv = newAjv(spec, false);
	return input.map((r) => {
		const op = spec.paths?.[r.path]?.[String(r.method).toLowerCase()];
		const type = String(r.content_type ?? "application/json").split(";")[0].trim().toLowerCase();
		const media = op?.requestBody ? deref(spec, op.requestBody).content?.[type] : undefined;
		if (!media)
			return { ok: false, why: `no ${type} request body is documented for ${r.method} ${r.path}` };
		const check = ajv.compile(rewrite(media.schema ?? {}, false));
		if (check(r.body))
			return { ok: true };
		return { ok: false, why: ajv.errorsText(check.errors, { separator: "; ", dataVar: "body" }) };
	});
}

// The examples of the document match the schemas beside them.
function exampleErrors(spec, ajv) {
	const errors = [];
	const media = [];
	for (const { path, method, op } of operations(spec)) {
		const body = op.requestBody ? deref(spec, op.requestBody) : null;
		for (const [type, m] of Object.entries(body?.content ?? {}))
			media.push([pointer("paths", path, method, "requestBody", "content", type), type, m]);
	}
	for (const [name, r] of Object.entries(spec.components?.responses ?? {}))
		for (const [type, m] of Object.entries(r.content ?? {}))
			media.push([pointer("components", "responses", name, "content", type), type, m]);
	for (const [where, type, m] of media) {
		if (m.example === undefined || !m.schema || type !== "application/json")
			continue;
		const check = ajv.compile(rewrite(m.schema, true));
		if (!check(m.example))
			errors.push(`${where}: the example: ${ajv.errorsText(check.errors, { dataVar: "example" })}`);
	}
	return errors;
}

const [cmd, file] = process.argv.slice(2);
let result;
if (cmd === "validate")
	result = await validate(file);
else if (cmd === "describe")
	result = describe(file);
else if (cmd === "replies")
	result = replies(file, JSON.parse(readFileSync(0, "utf8")));
else if (cmd === "requests")
	result = requests(file, JSON.parse(readFileSync(0, "utf8")));
else {
	process.stderr.write("usage: node check.mjs validate|describe|replies|requests FILE\n");
	process.exit(2);
}
process.stdout.write(JSON.stringify(result) + "\n");
