/** A shell command that sends the same request with curl, reading the file from the current directory. */

const shellQuote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

export interface CurlRequest {
  url: string;
  /** the body without the file field */
  fields: Record<string, unknown>;
  /** the dropped file: its name and the field its Base64 goes in */
  file?: { name: string; field: string };
  /** the server asks for an API key: read from $PIPESERVE_API_KEY rather than written into the command */
  apiKey: boolean;
}

export function curlCommand(request: CurlRequest): string {
  const curl = [
    'curl -sS -X POST',
    shellQuote(request.url),
    "-H 'Content-Type: application/json'",
    ...(request.apiKey ? ['-H "Authorization: Bearer $PIPESERVE_API_KEY"'] : []),
  ];
  const rest = JSON.stringify(request.fields);
  if (!request.file) return [...curl, `-d ${shellQuote(rest)}`].join(' ');
  // The Base64 of a photo is far longer than one command-line argument may be (128 KiB on Linux),
  // so the body is streamed through a pipe; `base64 | tr -d '\n'` works with GNU and BSD base64 alike.
  const head = JSON.stringify({ [request.file.field]: '' }).slice(0, -2);
  const tail = rest === '{}' ? '"}' : `",${rest.slice(1)}`;
  return [
    `{ printf '%s' ${shellQuote(head)}; base64 < ${shellQuote(request.file.name)} | tr -d '\\n'; printf '%s' ${shellQuote(tail)}; }`,
    `| ${curl.join(' ')} --data-binary @-`,
  ].join(' \\\n  ');
}
