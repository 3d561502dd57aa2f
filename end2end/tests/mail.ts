// Reads the mails the portal wrote to its mail folder (no SMTP configured in the end-to-end run).
import * as fs from 'node:fs';
import * as path from 'node:path';

const MAIL_DIR = process.env.PORTCULLIS_MAIL_DIR ?? '';

/** The mail with its quoted-printable parts decoded (mails are text and HTML parts; the links are
 *  read from the text part, which comes first). */
function decode(raw: string): string {
  const text = raw.replace(/\r\n/g, '\n');
  if (!/Content-Transfer-Encoding: quoted-printable/i.test(text)) return text;
  return text.replace(/=\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
}

/** Waits for the newest mail to `to` and returns the first link in it that contains `linkPath`. */
export async function linkFromMail(to: string, linkPath: string): Promise<string> {
  if (!MAIL_DIR) throw new Error('PORTCULLIS_MAIL_DIR is not set');
  for (let i = 0; i < 100; i++) {
    const names = fs.existsSync(MAIL_DIR) ? fs.readdirSync(MAIL_DIR).filter((n) => n.endsWith('.eml')).sort().reverse() : [];
    for (const name of names) {
      const mail = decode(fs.readFileSync(path.join(MAIL_DIR, name), 'utf8'));
      if (!mail.includes(`<${to}>`)) continue;
      const link = mail.split(/\s+/).find((w) => w.startsWith('http') && w.includes(linkPath));
      if (link) return link;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no mail to ${to} with a ${linkPath} link in ${MAIL_DIR}`);
}
