/**
 * OpenAI chat-completions stand-in: `POST /v1/chat/completions` answered from a short script,
 * streamed as the OpenAI SDK (and so the LiveKit OpenAI plugin) reads it: SSE `data:` chunks of
 * `chat.completion.chunk` with `choices[0].delta`, a last chunk with `finish_reason`, a usage chunk
 * when `stream_options.include_usage` is set, then `data: [DONE]`. Every request body is recorded,
 * so a test can see exactly what the model was shown. `GET /v1/models` answers the plugin's prewarm.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { delay, listenLoopback, type Route, type RunningServer, readBody, sendJson } from './server';

/** A chat message as the plugin sends it (content may be a string or a list of parts). */
export interface ChatMessage {
  role: string;
  content?: string | Array<{ type: string; text?: string }> | null;
  name?: string;
  tool_calls?: unknown[];
  tool_call_id?: string;
  [key: string]: unknown;
}

/** A chat-completions request body as received. */
export interface ChatRequestBody {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  tools?: unknown[];
  [key: string]: unknown;
}

/** A scripted tool call, sent as `delta.tool_calls` with `finish_reason: "tool_calls"`. */
export interface ScriptedToolCall {
  name: string;
  arguments: Record<string, unknown> | string;
}

export interface ChatRule {
  /**
   * Matches the last user message's text: a string matches case-insensitively as a substring, a
   * RegExp is tested, a function decides with the whole request in hand.
   */
  when: string | RegExp | ((lastUserText: string, body: ChatRequestBody) => boolean);
  /** The reply, or a function of the request (e.g. to echo something back). */
  reply?: string | ((lastUserText: string, body: ChatRequestBody) => string);
  toolCalls?: ScriptedToolCall[];
}

export interface ChatScript {
  /** Tried in order; the first that matches answers. */
  rules?: ChatRule[];
  /** The answer when no rule matches. */
  defaultReply?: string;
}

export interface OpenAiChatOptions {
  script?: ChatScript;
  /** Fixed wait from request to the first content token, for benches. Default 0. */
  firstTokenLatencyMs?: number;
  /** Wait between later chunks (one a token, openAiTokens). Default 0. */
  tokenIntervalMs?: number;
  /** If set, only `Authorization: Bearer <apiKey>` is accepted; otherwise any key is. */
  apiKey?: string;
}

/** One request as received. */
export interface RecordedChatRequest {
  at: number;
  path: string;
  authorization?: string;
  headers: Record<string, string | string[] | undefined>;
  body: ChatRequestBody;
  /** What the stand-in answered with (text, or the tool calls). */
  reply: string;
  toolCalls: ScriptedToolCall[];
  /** Which connection carried it (1 for the stand-in's first, and so on): a new number is a new TCP (and, at OpenAI, TLS) handshake. */
  connection: number;
  /** Set once the client gave up on the request (closed it) before its answer was complete. */
  abandoned?: true;
}

/** Answers held back by {@link OpenAiChatStandin.hold} until released. */
export interface HeldAnswers {
  /** Lets the held requests (and any later match) be answered. */
  release(): void;
}

export const DEFAULT_REPLY = 'I hear you. Tell me a little more about how that feels.';

/** The OpenAI routes: add them to a server, or start them alone with {@link startOpenAiChat}. */
export class OpenAiChatStandin implements Route {
  readonly requests: RecordedChatRequest[] = [];
  readonly #connections = new WeakMap<object, number>();
  #connectionCount = 0;

  #connectionOf(socket: object): number {
    let n = this.#connections.get(socket);
    if (n === undefined) {
      n = ++this.#connectionCount;
      this.#connections.set(socket, n);
    }
    return n;
  }
  script: ChatScript;
  readonly #opts: OpenAiChatOptions;
  #failures: number[] = [];
  #sequence = 0;
  #holds: Array<{ when: ChatRule['when']; released: Promise<void> }> = [];

  constructor(opts: OpenAiChatOptions = {}) {
    this.#opts = opts;
    this.script = opts.script ?? {};
  }

  /** Answers the next `count` chat requests with HTTP `status` (e.g. 500, 429), to exercise retries. */
  failNext(count: number, status = 500): void {
    for (let i = 0; i < count; i++) this.#failures.push(status);
  }

  /**
   * Holds back the answer to each request whose last user message matches `when` (as a rule's) until
   * released: the request is recorded at once, so a test can act while the model "thinks", with no
   * sleep. A request its client gives up on meanwhile is marked `abandoned` and never answered.
   */
  hold(when: ChatRule['when']): HeldAnswers {
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const held = { when, released };
    this.#holds.push(held);
    return {
      release: () => {
        this.#holds = this.#holds.filter((h) => h !== held);
        release();
      },
    };
  }

  /** The messages of each recorded request, in order. */
  get conversations(): ChatMessage[][] {
    return this.requests.map((r) => r.body.messages);
  }

  request(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    const path = url.pathname.replace(/\/+$/, '');
    if (req.method === 'GET' && (path === '/v1/models' || path.startsWith('/v1/models/'))) {
      if (!this.#authorised(req, res)) return true;
      const id = path.slice('/v1/models/'.length);
      const model = (name: string) => ({ id: name, object: 'model', created: 1_700_000_000, owned_by: 'standin' });
      sendJson(res, 200, id ? model(decodeURIComponent(id)) : { object: 'list', data: ['gpt-4o-mini', 'gpt-4.1'].map(model) });
      return true;
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      void this.#chat(req, res, path).catch((e: unknown) => {
        if (!res.headersSent) sendJson(res, 500, openAiError(String(e), 'server_error'));
        else res.end();
      });
      return true;
    }
    return false;
  }

  #authorised(req: IncomingMessage, res: ServerResponse): boolean {
    const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (match && (this.#opts.apiKey === undefined || match[1] === this.#opts.apiKey)) return true;
    sendJson(res, 401, openAiError('Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key'));
    return false;
  }

  async #chat(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const raw = await readBody(req);
    if (!this.#authorised(req, res)) return;
    let body: ChatRequestBody;
    try {
      body = JSON.parse(raw.toString('utf8')) as ChatRequestBody;
    } catch {
      sendJson(res, 400, openAiError('We could not parse the JSON body of your request.', 'invalid_request_error'));
      return;
    }
    if (!Array.isArray(body.messages) || typeof body.model !== 'string') {
      sendJson(res, 400, openAiError("'model' and 'messages' are required.", 'invalid_request_error'));
      return;
    }
    const lastUser = lastUserText(body.messages);
    const rule = (this.script.rules ?? []).find((r) => matches(r, lastUser, body));
    const reply = !rule ? (this.script.defaultReply ?? DEFAULT_REPLY) : typeof rule.reply === 'function' ? rule.reply(lastUser, body) : (rule.reply ?? '');
    const toolCalls = rule?.toolCalls ?? [];
    const recorded: RecordedChatRequest = {
      at: Date.now(),
      path,
      authorization: req.headers.authorization,
      headers: { ...req.headers },
      body,
      reply,
      toolCalls,
      connection: this.#connectionOf(req.socket),
    };
    this.requests.push(recorded);
    res.on('close', () => {
      if (!res.writableFinished) recorded.abandoned = true;
    });
    const held = this.#holds.find((h) => matches({ when: h.when }, lastUser, body));
    if (held) {
      await Promise.race([held.released, new Promise((resolve) => res.once('close', resolve))]);
      if (recorded.abandoned) return;
    }
    const failure = this.#failures.shift();
    if (failure) {
      await delay(this.#opts.firstTokenLatencyMs ?? 0);
      const type = failure === 429 ? 'rate_limit_exceeded' : 'server_error';
      sendJson(res, failure, openAiError('The stand-in was told to fail this request.', type));
      return;
    }
    const id = `chatcmpl-standin${++this.#sequence}`;
    const created = Math.floor(Date.now() / 1000);
    const usage = {
      prompt_tokens: countTokens(JSON.stringify(body.messages)),
      completion_tokens: countTokens(reply),
      total_tokens: 0,
    };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const finishReason = toolCalls.length > 0 ? 'tool_calls' : 'stop';
    const calls = toolCalls.map((call, index) => ({
      index,
      id: `call_standin${this.#sequence}_${index}`,
      type: 'function',
      function: {
        name: call.name,
        arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
      },
    }));

    if (!body.stream) {
      await delay(this.#opts.firstTokenLatencyMs ?? 0);
      sendJson(res, 200, {
        id,
        object: 'chat.completion',
        created,
        model: body.model,
        system_fingerprint: 'fp_standin',
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: calls.length ? null : reply,
              refusal: null,
              ...(calls.length ? { tool_calls: calls } : {}),
            },
            logprobs: null,
            finish_reason: finishReason,
          },
        ],
        usage,
      });
      return;
    }

    const includeUsage = body.stream_options?.include_usage === true;
    const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: body.model,
      system_fingerprint: 'fp_standin',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...(includeUsage ? { usage: null } : {}),
    });
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    const send = (data: unknown) => res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
    // A client that stops reading (barge-in aborts the request) ends the stream quietly.
    let aborted = false;
    res.on('close', () => {
      aborted = !res.writableFinished;
    });
    res.on('error', () => undefined);
    send(chunk({ role: 'assistant', content: '', refusal: null }, null));
    await delay(this.#opts.firstTokenLatencyMs ?? 0);
    const pieces = calls.length ? [] : openAiTokens(reply);
    for (let i = 0; i < pieces.length && !aborted; i++) {
      if (i > 0) await delay(this.#opts.tokenIntervalMs ?? 0);
      send(chunk({ content: pieces[i] }, null));
    }
    for (const call of calls) send(chunk({ tool_calls: [call] }, null));
    if (aborted) return;
    send(chunk({}, finishReason));
    if (includeUsage) {
      send({ id, object: 'chat.completion.chunk', created, model: body.model, system_fingerprint: 'fp_standin', choices: [], usage });
    }
    send('[DONE]');
    res.end();
  }
}

/**
 * `text` cut as OpenAI's models stream it, one chunk a token: a word with the space before it, a
 * contraction's tail, up to three digits, a run of punctuation, whitespace (the cuts of the o200k/cl100k
 * pre-tokenizer, close enough for timing: "That makes sense." → "That", " makes", " sense", "."). The
 * voice's text path reacts to the cut (agents-js's markdown filter holds a trailing "." until the next
 * chunk; the sentence tokenizer releases on it), so a stand-in streaming whole words with their trailing
 * space would hand the voice its first sentence sooner than the model does.
 */
export function openAiTokens(text: string): string[] {
  return text.match(/ ?[A-Za-z]+|'[a-z]+| ?\d{1,3}| ?[^\sA-Za-z\d']+|\s+|'/g) ?? [];
}

/** Starts the chat stand-in alone on a free loopback port; `baseURL` ends in `/v1`, as the SDK wants. */
export async function startOpenAiChat(opts: OpenAiChatOptions = {}): Promise<RunningServer & { baseURL: string; chat: OpenAiChatStandin }> {
  const chat = new OpenAiChatStandin(opts);
  const server = await listenLoopback([chat]);
  return { ...server, baseURL: `${server.url}/v1`, chat };
}

/** The text of a message, whether its content is a string or a list of parts. */
export function messageText(message: ChatMessage): string {
  const { content } = message;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (p.type === 'text' ? (p.text ?? '') : '')).join('');
  return '';
}

function lastUserText(messages: ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === 'user') return messageText(messages[i]!);
  return '';
}

function matches(rule: ChatRule, text: string, body: ChatRequestBody): boolean {
  if (typeof rule.when === 'string') return text.toLowerCase().includes(rule.when.toLowerCase());
  if (rule.when instanceof RegExp) return rule.when.test(text);
  return rule.when(text, body);
}

/** A rough token count (about four characters a token), enough for usage figures. */
function countTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

function openAiError(message: string, type: string, code: string | null = null) {
  return { error: { message, type, param: null, code } };
}
