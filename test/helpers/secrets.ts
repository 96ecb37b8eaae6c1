import { seeded } from "../fakes/server.ts";

/**
 * Secrets the redactor must catch. Every value is assembled at run time, so the repository holds
 * no secret-shaped literal (and no scanner flags it). Formats follow the providers' published
 * shapes: prefixes and lengths as their docs and secretlint's rule fixtures describe them.
 */
export const CANARY = {
  awsKey: ["AKIA", "CANARY7Q4M2X9B3C"].join(""),
  githubToken: ["ghp", "_", "Canary0b1c2d3e4f5g6h7i8j9k0l1m2n3o4p5q6r"].join(""),
  jwt: [
    "eyJhbGciOiJIUzI1NiJ9",
    "eyJjYW5hcnkiOiJ5ZXMiLCJzdWIiOiI0MiJ9",
    "c2lnbmF0dXJlX2NhbmFyeV92YWx1ZQ",
  ].join("."),
  email: "canary.person@acme.example",
  card: "4000 0566 5566 5556",
  password: "hunter2-canary-pass",
  keyBody: "MIIEcanaryKEYbodyLINEabcdefghijklmnop",
};

export const CANARY_KEY_BLOCK = [
  "-----BEGIN RSA PRIVATE",
  " KEY-----\n",
  CANARY.keyBody,
  "\n-----END RSA PRIVATE",
  " KEY-----",
].join("");

export interface SecretCase {
  kind: string;
  secret: string;
  /** The secret where it really turns up: a log line, an attribute, an env line, code. */
  contexts: string[];
}

export function secretCorpus(seed = 11): SecretCase[] {
  const random = seeded(seed);
  const pick = (alphabet: string, n: number) =>
    Array.from({ length: n }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
  const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  const HEX = "0123456789abcdef";
  const B64 = `${ALNUM}+/`;
  const keyBlock = (label: string) =>
    [
      `-----BEGIN ${label} PRIVATE`,
      ` KEY-----\n${pick(B64, 64)}\n${pick(B64, 64)}\n-----END ${label} PRIVATE`,
      " KEY-----",
    ].join("");
  const everywhere = (secret: string, name: string) => [
    `request failed with ${secret} at 06:21`,
    JSON.stringify({ [name]: secret }),
    `${name.toUpperCase()}=${secret}`,
    `const client = new Client("${secret}");`,
  ];
  // A password has no shape of its own: only the key names it, so only keyed forms can be caught.
  const keyed = (secret: string, name: string) => [
    JSON.stringify({ [name]: secret }),
    `${name.toUpperCase()}=${secret}`,
    `${name}: "${secret}"`,
    `    ${name} = "${secret}"`,
    `login failed: ${name}=${secret} user=dana`,
  ];
  const cases: Array<[kind: string, secret: string, name: string]> = [
    ["aws-key", ["AKIA", pick(UPPER, 16)].join(""), "aws_access_key_id"],
    ["aws-key", ["ASIA", pick(UPPER, 16)].join(""), "aws_session_key_id"],
    ["github-token", ["ghp_", pick(ALNUM, 36)].join(""), "github_token"],
    ["github-token", ["gho_", pick(ALNUM, 36)].join(""), "gh_oauth"],
    ["github-token", ["ghs_", pick(ALNUM, 36)].join(""), "gh_app"],
    ["github-token", ["github_pat_", pick(ALNUM, 22), "_", pick(ALNUM, 59)].join(""), "gh_pat"],
    [
      "slack",
      ["xoxb", "-", pick("0123456789", 12), "-", pick("0123456789", 13), "-", pick(ALNUM, 24)].join(""),
      "slack_bot",
    ],
    ["stripe", ["sk", "_live_", pick(ALNUM, 24)].join(""), "stripe_key"],
    ["npm", ["npm", "_", pick(ALNUM, 36)].join(""), "npm_auth"],
    ["anthropic-key", ["sk-ant-", "api03-", pick(`${ALNUM}_-`, 93), "AA"].join(""), "anthropic_api_key"],
    ["openai", ["sk-proj-", pick(`${ALNUM}_-`, 48)].join(""), "openai_api_key"],
    ["sendgrid", ["SG", ".", pick(`${ALNUM}_-`, 22), ".", pick(`${ALNUM}_-`, 43)].join(""), "sendgrid"],
    ["gcp-api-key", ["AIza", pick(`${ALNUM}_-`, 35)].join(""), "google_maps_key"],
    [
      "huggingface",
      ["hf_", pick("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", 34)].join(""),
      "hf_token",
    ],
    ["gitlab", ["glpat-", pick(`${ALNUM}_-`, 20)].join(""), "gitlab_token"],
    ["shopify", ["shpat_", pick(HEX, 32)].join(""), "shopify_token"],
    ["jwt", [`eyJ${pick(ALNUM, 20)}`, `eyJ${pick(ALNUM, 40)}`, pick(`${ALNUM}_-`, 43)].join("."), "id_token"],
    ["password", `${pick(ALNUM, 10)}-${pick(ALNUM, 6)}!`, "db_password"],
    ["password", pick(ALNUM, 24), "client_secret"],
    ["card-number", "4111 1111 1111 1111", "card"],
    ["card-number", "5555555555554444", "card"],
    ["card-number", "3782-822463-10005", "card"],
    ["card-number", "6011111111111117", "card"],
  ];
  const out: SecretCase[] = cases.map(([kind, secret, name]) => ({
    kind,
    secret,
    contexts: kind === "password" ? keyed(secret, name) : everywhere(secret, name),
  }));
  const user = `${pick("abcdefghijklmnopqrstuvwxyz", 8)}`;
  const pass = `${pick(ALNUM, 14)}`;
  out.push(
    {
      kind: "connection-string",
      secret: pass,
      contexts: [
        `dial postgres://${user}:${pass}@db.internal:5432/app failed`,
        JSON.stringify({ "db.url": `mysql://${user}:${pass}@10.0.0.7/shop` }),
        `REDIS_URL=redis://default:${pass}@cache:6379`,
        `fetch("https://${user}:${pass}@registry.example.com/pkg")`,
      ],
    },
    {
      kind: "private-key",
      secret: keyBlock("RSA").split("\n")[1] ?? "",
      contexts: [keyBlock("RSA"), `key=${JSON.stringify(keyBlock("RSA"))}`],
    },
    {
      kind: "private-key",
      secret: keyBlock("EC").split("\n")[1] ?? "",
      contexts: [keyBlock("EC")],
    },
    {
      kind: "bearer-token",
      secret: pick(`${ALNUM}-._~+/`, 40),
      contexts: [],
    },
    { kind: "email", secret: `${user}.${pick("abcdefghij", 5)}@acme.example`, contexts: [] },
  );
  const bearer = out.find((c) => c.kind === "bearer-token");
  if (bearer)
    bearer.contexts = [
      `Authorization: Bearer ${bearer.secret}`,
      `curl -H 'Authorization: Bearer ${bearer.secret}'`,
    ];
  const email = out.find((c) => c.kind === "email");
  if (email)
    email.contexts = [`user ${email.secret} failed login`, JSON.stringify({ "user.email": email.secret })];
  for (const [name, secret] of Object.entries(CANARY)) {
    const contexts =
      name === "password"
        ? keyed(secret, "password")
        : everywhere(name === "keyBody" ? CANARY_KEY_BLOCK : secret, name);
    out.push({ kind: `canary:${name}`, secret, contexts });
  }
  const canaryKey = out.find((c) => c.kind === "canary:keyBody");
  if (canaryKey) canaryKey.secret = CANARY.keyBody;
  return out;
}
