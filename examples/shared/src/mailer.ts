// Outgoing mail through nodemailer: real SMTP when SMTP_URL is set, otherwise a local mailbox
// (each message written as an .eml file that any mail client opens). The mailbox can be flaky
// on purpose, so that retries can be seen.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import nodemailer from 'nodemailer'

/** One outgoing message. */
export interface Mail {
  to: string
  subject: string
  text: string
}

/** What tasks use to send mail (`ctx.mail`). */
export interface Mailer {
  /** Sends one message; resolves with where it went (an .eml path or the SMTP message id). */
  send(mail: Mail): Promise<string>
  /** For humans: "local mailbox .demo/dev/mailbox" or "SMTP at smtp.example.com:587". */
  readonly description: string
  /** The mailbox folder, when messages are written to files. */
  readonly mailbox: string | undefined
}

const FROM = 'Afterward example <hello@afterward.example>'

/**
 * Real SMTP for `smtpUrl`, otherwise a mailbox folder under `dataDir` whose transport fails the
 * first `mailFailures` sends of each message (same recipient and subject).
 *
 * @example
 * const mailer = createMailer({ smtpUrl: undefined, dataDir: '.demo/dev', mailFailures: 2 })
 * await mailer.send({ to: 'ada@example.com', subject: 'Hi', text: 'Hello' })
 */
export function createMailer(settings: {
  smtpUrl: string | undefined
  dataDir: string
  mailFailures: number
}): Mailer {
  if (settings.smtpUrl !== undefined) {
    const transport = nodemailer.createTransport(settings.smtpUrl)
    const url = new URL(settings.smtpUrl)
    return {
      description: `SMTP at ${url.host}`,
      mailbox: undefined,
      async send(mail) {
        const info = await transport.sendMail({ from: FROM, ...mail })
        return String(info.messageId)
      },
    }
  }
  const mailbox = join(settings.dataDir, 'mailbox')
  mkdirSync(mailbox, { recursive: true })
  // streamTransport renders the full RFC 822 message without sending it anywhere.
  const transport = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    newline: 'unix',
  })
  const failures = new Map<string, number>()
  const shown = relative(process.cwd(), mailbox) || mailbox
  return {
    description:
      `local mailbox ${shown}` +
      (settings.mailFailures > 0
        ? ` (flaky: each message fails its first ${settings.mailFailures} sends)`
        : ''),
    mailbox,
    async send(mail) {
      const id = `${mail.to}\u0000${mail.subject}`
      const failed = failures.get(id) ?? 0
      if (failed < settings.mailFailures) {
        failures.set(id, failed + 1)
        throw new Error(
          `mail server unavailable (simulated failure ${failed + 1} of ${settings.mailFailures}; MAIL_FAILURES=0 turns it off)`,
        )
      }
      const info = await transport.sendMail({ from: FROM, ...mail })
      const stamp = new Date().toISOString().replace(/[:.]/g, '-')
      const name = `${stamp}-${mail.to.replace(/[^\w.@-]/g, '_')}.eml`
      const file = join(mailbox, name)
      writeFileSync(file, info.message as Buffer)
      return relative(process.cwd(), file) || file
    },
  }
}
