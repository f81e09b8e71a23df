import { useEffect, useMemo, useState } from 'preact/hooks';
import { curlCommand } from './curl.js';
import { type Endpoint, endpointsOf, type FoundImage, fieldValue, type FormField, type OpenApiDocument, splitImages } from './schema.js';

const KEY_STORAGE = 'pipeserve.apiKey';

interface Answer {
  status: number;
  ms: number;
  images: FoundImage[];
  json: unknown;
}

/** The file's bytes as Base64 (FileReader's data URL is the browser's own encoder). */
function readBase64(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

const isPdf = (file: File) => file.type === 'application/pdf' || file.name.toLowerCase().endsWith('.pdf');

const ACCEPT: Record<Endpoint['input']['kind'], string> = {
  image: 'image/*',
  document: 'image/*,application/pdf,.pdf',
  csv: '.csv,text/csv',
  audio: 'audio/*',
  video: 'video/*',
  tar: '.tar,application/x-tar',
  none: '',
};

function FieldInput(props: { field: FormField; value: string; onInput: (value: string) => void }) {
  const { field, value, onInput } = props;
  const id = `field-${field.name}`;
  const change = (e: Event) => onInput((e.currentTarget as HTMLInputElement).value);
  const control = field.control;
  let input: preact.JSX.Element;
  if (control.kind === 'boolean' || control.kind === 'enum') {
    const options = control.kind === 'boolean' ? ['true', 'false'] : control.options.map(String);
    input = (
      <select id={id} name={field.name} value={value} onChange={change}>
        <option value="">{field.required ? '(choose)' : '(server default)'}</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o === '' ? '""' : o}
          </option>
        ))}
      </select>
    );
  } else if (control.kind === 'number') {
    input = (
      <input
        id={id}
        name={field.name}
        type="number"
        step={control.integer ? 1 : 'any'}
        min={control.min}
        max={control.max}
        placeholder={field.required ? 'required' : 'server default'}
        value={value}
        onInput={change}
      />
    );
  } else if (control.kind === 'string') {
    input = <input id={id} name={field.name} placeholder={field.required ? 'required' : 'server default'} value={value} onInput={change} />;
  } else {
    input = <textarea id={id} name={field.name} rows={3} placeholder="JSON" value={value} onInput={change} />;
  }
  return (
    <label class="field" for={id}>
      <span>
        {field.name}
        {field.required ? ' *' : ''}
      </span>
      {input}
    </label>
  );
}

function ApiKeyForm(props: { onKey: (key: string) => void; rejected: boolean }) {
  const [key, setKey] = useState('');
  return (
    <form
      class="api-key"
      onSubmit={(e) => {
        e.preventDefault();
        if (key) props.onKey(key);
      }}
    >
      <p>{props.rejected ? 'The server refused that API key. ' : ''}This server needs its API key (kept for this browser tab only).</p>
      <input type="password" name="apiKey" autoComplete="off" value={key} onInput={(e) => setKey(e.currentTarget.value)} />
      <button type="submit">Use key</button>
    </form>
  );
}

export function App() {
  const [document, setDocument] = useState<OpenApiDocument>();
  const [loadError, setLoadError] = useState<string>();
  const [apiKey, setApiKey] = useState(() => sessionStorage.getItem(KEY_STORAGE) ?? '');
  const [keyRejected, setKeyRejected] = useState(false);
  const [path, setPath] = useState('');
  const [file, setFile] = useState<File>();
  const [values, setValues] = useState<Record<string, string>>({});
  const [running, setRunning] = useState(false);
  const [answer, setAnswer] = useState<Answer>();
  const [requestError, setRequestError] = useState<string>();
  const [copied, setCopied] = useState(false);

  useEffect(() => {
    fetch('openapi.json')
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`GET /openapi.json: HTTP ${r.status}`))))
      .then((doc: OpenApiDocument) => {
        setDocument(doc);
        setPath(endpointsOf(doc)[0]?.path ?? '');
      })
      .catch((err: Error) => setLoadError(err.message));
  }, []);

  const endpoints = useMemo(() => (document ? endpointsOf(document) : []), [document]);
  const endpoint = endpoints.find((e) => e.path === path);
  const needsKey = Boolean(document?.components?.securitySchemes?.bearer);
  const takesFile = endpoint !== undefined && endpoint.input.kind !== 'none';

  const chooseEndpoint = (next: string) => {
    setPath(next);
    setValues({});
    setAnswer(undefined);
    setRequestError(undefined);
  };

  const useKey = (key: string) => {
    sessionStorage.setItem(KEY_STORAGE, key);
    setApiKey(key);
    setKeyRejected(false);
  };

  /** The request's fields as set in the form; a document's fileType follows the file unless set. */
  const formFields = (): Record<string, unknown> => {
    if (!endpoint) return {};
    const fields: Record<string, unknown> = {};
    for (const field of endpoint.fields) {
      const value = fieldValue(field, values[field.name] ?? '');
      if (value !== undefined) fields[field.name] = value;
    }
    if (endpoint.input.kind === 'document' && file && fields.fileType === undefined && endpoint.fields.some((f) => f.name === 'fileType')) {
      fields.fileType = isPdf(file) ? 0 : 1;
    }
    return fields;
  };

  const curl = useMemo(() => {
    if (!endpoint) return '';
    try {
      return curlCommand({
        url: new URL(endpoint.path.slice(1), window.location.href).href,
        fields: formFields(),
        file: takesFile && file ? { name: file.name, field: endpoint.input.field } : undefined,
        apiKey: needsKey,
      });
    } catch (err) {
      return `# ${(err as Error).message}`;
    }
  }, [endpoint, values, file, needsKey]);

  const run = async () => {
    if (!endpoint) return;
    setRunning(true);
    setRequestError(undefined);
    try {
      const body = formFields();
      if (takesFile) {
        if (!file) throw new Error(`Drop a file first (${endpoint.input.kind})`);
        body[endpoint.input.field] = await readBase64(file);
      }
      const started = performance.now();
      const response = await fetch(endpoint.path.slice(1), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(apiKey ? { Authorization: `Bearer ${apiKey}` } : {}) },
        body: JSON.stringify(body),
      });
      const ms = Math.round(performance.now() - started);
      const envelope = (await response.json()) as { result?: unknown };
      if (response.status === 401 && needsKey) {
        sessionStorage.removeItem(KEY_STORAGE);
        setApiKey('');
        setKeyRejected(true);
      }
      const { images, json } = splitImages(envelope.result, endpoint.images);
      setAnswer({ status: response.status, ms, images, json: envelope.result === undefined ? envelope : { ...envelope, result: json } });
    } catch (err) {
      setRequestError((err as Error).message);
    } finally {
      setRunning(false);
    }
  };

  const copy = async () => {
    await navigator.clipboard.writeText(curl);
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };

  if (loadError) return <p class="error">{loadError}</p>;
  if (!document) return <p>Loading the server's endpoints…</p>;
  if (needsKey && !apiKey) return <ApiKeyForm onKey={useKey} rejected={keyRejected} />;

  return (
    <div class="layout">
      <aside>
        <h1>pipeserve playground</h1>
        <label class="field" for="endpoint">
          <span>Endpoint</span>
          <select id="endpoint" value={path} onChange={(e) => chooseEndpoint(e.currentTarget.value)}>
            {endpoints.map((e) => (
              <option key={e.path} value={e.path}>
                {e.path}
              </option>
            ))}
          </select>
        </label>
        {endpoint && <p class="summary">{endpoint.summary}</p>}
        {takesFile && endpoint && (
          <label
            class="drop"
            onDragOver={(e) => e.preventDefault()}
            onDrop={(e) => {
              e.preventDefault();
              const dropped = e.dataTransfer?.files[0];
              if (dropped) setFile(dropped);
            }}
          >
            <input type="file" name="file" accept={ACCEPT[endpoint.input.kind]} onChange={(e) => setFile(e.currentTarget.files?.[0])} />
            <span>
              {file
                ? `${file.name} (${Math.ceil(file.size / 1024)} KB)`
                : `Drop ${endpoint.input.kind === 'document' ? 'an image or a PDF' : `a ${endpoint.input.kind} file`} here, or click`}
            </span>
          </label>
        )}
        {endpoint?.fields.map((field) => (
          <FieldInput
            key={`${endpoint.path}:${field.name}`}
            field={field}
            value={values[field.name] ?? ''}
            onInput={(value) => setValues({ ...values, [field.name]: value })}
          />
        ))}
        <button type="button" class="run" disabled={running} onClick={run}>
          {running ? 'Running…' : 'Run'}
        </button>
        <label class="field" for="curl">
          <span>
            curl{' '}
            <button type="button" onClick={copy}>
              {copied ? 'Copied' : 'Copy'}
            </button>
          </span>
          <textarea id="curl" readOnly rows={6} value={curl} />
        </label>
        <p class="links">
          <a href="docs">API docs</a> · <a href="openapi.json">openapi.json</a>
        </p>
      </aside>
      <main>
        {requestError && <p class="error">{requestError}</p>}
        {answer && (
          <>
            <p class={answer.status === 200 ? 'status ok' : 'status error'}>
              HTTP {answer.status} in {answer.ms} ms
            </p>
            <div class="results">
              <section class="images" aria-label="Visualisation">
                {answer.images.length === 0 && <p class="muted">No images in this result (visualize off, or none for this endpoint).</p>}
                {answer.images.map((image) => (
                  <figure key={image.path}>
                    <img src={image.dataUrl} alt={image.path} />
                    <figcaption>{image.path}</figcaption>
                  </figure>
                ))}
              </section>
              <section class="json" aria-label="JSON">
                <pre>{JSON.stringify(answer.json, null, 2)}</pre>
              </section>
            </div>
          </>
        )}
      </main>
    </div>
  );
}
