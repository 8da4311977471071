/**
 * The address of a job queue (`redis://[user:password@]host:port[/db]`, or `rediss://` for TLS),
 * kept so that its password never reaches a terminal, a log or an error message: every text that
 * may quote it goes through {@link QueueUrl.redact}.
 */
import { inspect } from "node:util"
import { Data, Either } from "effect"

/** What replaces a password in anything printed. */
export const hidden = "***"

/** Userinfo of any redis URL in a text (`redis://user:secret@` → `redis://user:***@`). */
const userinfoPattern = /(rediss?:\/\/)([^@\s/]*)@/gi

/** A text with the password of every redis URL in it hidden, for texts no {@link QueueUrl} was parsed from. */
export const redactUrls = (text: string): string =>
  text.replace(userinfoPattern, (_, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(":")
    return colon < 0 ? `${scheme}${userinfo}@` : `${scheme}${userinfo.slice(0, colon)}:${hidden}@`
  })

/** The `--queue` address is not a redis URL. */
export class QueueUrlInvalid extends Data.TaggedError("QueueUrlInvalid")<{
  /** The address, password hidden. */
  readonly url: string
  readonly problem: string
}> {
  override get message(): string {
    return `invalid queue address '${this.url}': ${this.problem} (expected redis://[:password@]host:port or rediss://...)`
  }
}

/** The queue's server cannot be reached (or refused the connection). */
export class QueueUnreachable extends Data.TaggedError("QueueUnreachable")<{
  /** The address, password hidden. */
  readonly url: string
  /** Why, with the password hidden. */
  readonly reason: string
}> {
  override get message(): string {
    return `cannot reach the queue at ${this.url}: ${this.reason}`
  }
}

/**
 * A parsed queue address. Printing it in any way (`String`, `JSON.stringify`, `console.log`,
 * template strings) shows the redacted form; only {@link QueueUrl.connectionUrl} holds the secret.
 */
export class QueueUrl {
  readonly #href: string
  readonly #secrets: ReadonlyArray<string>
  /** The address with its password hidden. */
  readonly redacted: string
  /** True for `rediss://` (TLS). */
  readonly tls: boolean

  private constructor(url: URL) {
    this.#href = url.href
    const secrets = url.password === "" ? [] : [url.password, decodeURIComponent(url.password)]
    this.#secrets = [...new Set(secrets)].filter((s) => s.length > 0)
    const shown = new URL(url.href)
    if (shown.password !== "") shown.password = hidden
    this.redacted = shown.href.replace(`:${encodeURIComponent(hidden)}@`, `:${hidden}@`).replace(/\/$/, "")
    this.tls = url.protocol === "rediss:"
  }

  /** Parse `text` as a redis address. */
  static parse(text: string): Either.Either<QueueUrl, QueueUrlInvalid> {
    let url: URL
    try {
      url = new URL(text)
    } catch {
      return Either.left(new QueueUrlInvalid({ url: redactUrls(text), problem: "not a URL" }))
    }
    const invalid = (problem: string) => Either.left(new QueueUrlInvalid({ url: new QueueUrl(url).redacted, problem }))
    if (url.protocol !== "redis:" && url.protocol !== "rediss:") return invalid(`unsupported scheme '${url.protocol}'`)
    if (url.hostname === "") return invalid("no host")
    if (!/^\/?(\d+)?$/.test(url.pathname)) return invalid(`the path must be a database number, got '${url.pathname}'`)
    return Either.right(new QueueUrl(url))
  }

  /** The address with its password, for the redis client only. */
  connectionUrl(): string {
    return this.#href
  }

  /** `text` with this address's password (and any redis URL's password) hidden. */
  redact(text: string): string {
    return this.#secrets.reduce((t, secret) => t.split(secret).join(hidden), redactUrls(text))
  }

  toString(): string {
    return this.redacted
  }

  toJSON(): string {
    return this.redacted
  }

  [inspect.custom](): string {
    return `QueueUrl(${this.redacted})`
  }
}
