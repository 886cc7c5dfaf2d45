import type { IncomingMessage, ServerResponse } from 'node:http';
import { dropRequest, type FailGraphRequest } from './graph-answers.ts';
import { graphErrorBody, httpStatusOf } from './graph-errors.ts';
import type { GraphState } from './graph-state.ts';
import { delay, readBody, respond } from './http.ts';
import type { MessagesEdge } from './messages-edge.ts';
import type { FaultSettings } from './numbers.ts';
import { readBusinessKey, readPhoneNumber, readWaba, uploadBusinessKey } from './phone-number-edges.ts';

const defaultServerErrorCodes = [131000, 1, 2];

/** Answers a request to the Graph API: its path, the number's token, then the faults asked for, then the edge. */
export class GraphRouter {
  readonly #state: GraphState;
  readonly #random: () => number;
  readonly #fail: FailGraphRequest;
  readonly #messages: MessagesEdge;
  /** Requests to `/_fake/`, the fake's own control API. */
  readonly #control: (method: string, url: URL, body: Buffer, response: ServerResponse) => Promise<void>;

  constructor(dependencies: {
    readonly state: GraphState;
    readonly random: () => number;
    readonly fail: FailGraphRequest;
    readonly messages: MessagesEdge;
    readonly control: (method: string, url: URL, body: Buffer, response: ServerResponse) => Promise<void>;
  }) {
    this.#state = dependencies.state;
    this.#random = dependencies.random;
    this.#fail = dependencies.fail;
    this.#messages = dependencies.messages;
    this.#control = dependencies.control;
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://fake-graph');
    const body = await readBody(request);
    if (body === undefined) {
      respond(response, 413, graphErrorBody({ code: 100, details: 'The request body is too large' }));
      return;
    }
    if (url.pathname.startsWith('/_fake/')) {
      await this.#control(request.method ?? 'GET', url, body, response);
      return;
    }
    const [, version = '', phoneNumberId = '', edge = '', ...rest] = url.pathname.split('/');
    if (
      !/^v\d+\.\d+$/.test(version) ||
      rest.length > 0 ||
      !['', 'messages', 'whatsapp_business_encryption'].includes(edge)
    ) {
      this.#fail(response, undefined, { code: 2500, details: `Unknown path components: ${url.pathname}` });
      return;
    }
    response.setHeader('facebook-api-version', version);
    const number = this.#state.numbers.get(phoneNumberId);
    if (number === undefined && edge === '' && request.method === 'GET') {
      readWaba(
        this.#state.numbers.values(),
        phoneNumberId,
        request.headers.authorization ?? '',
        response,
        this.#fail,
      );
      return;
    }
    if (number === undefined) {
      this.#fail(response, undefined, {
        code: 100,
        subcode: 33,
        title: `Unsupported post request. Object with ID '${phoneNumberId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation`,
      });
      return;
    }
    if (edge === '' && request.method === 'GET') {
      // Management reads stay out of the messages edge's faults and counts: a worker's daily sync must
      // not take a fault a test scripted for a send.
      readPhoneNumber(
        number,
        request.headers.authorization,
        url.searchParams.get('fields'),
        response,
        this.#fail,
      );
      return;
    }
    const faults = { ...this.#state.globalFaults, ...number.faults };
    await delay(this.#latencyOf(faults));
    if (this.#random() < (faults.dropRate ?? 0)) {
      dropRequest(request, number);
      return;
    }
    const authorization = request.headers.authorization ?? '';
    if (authorization !== `Bearer ${number.accessToken}`) {
      this.#fail(response, number, { code: 190 });
      return;
    }
    if (number.tokenExpired) {
      this.#fail(response, number, {
        code: 190,
        subcode: 463,
        title: 'Error validating access token: Session has expired',
      });
      return;
    }
    const scripted = number.scripted.shift();
    if (scripted?.kind === 'drop') {
      dropRequest(request, number);
      return;
    }
    if (scripted?.kind === 'error') {
      this.#fail(response, number, scripted.error);
      return;
    }
    if (this.#random() < (faults.serverErrorRate ?? 0)) {
      const codes = faults.serverErrorCodes ?? defaultServerErrorCodes;
      const code = codes[Math.floor(this.#random() * codes.length)] ?? 131000;
      this.#fail(response, number, { code, httpStatus: Math.max(500, httpStatusOf(code, 500)) });
      return;
    }
    if (edge === 'messages' && request.method === 'POST') {
      this.#messages.send(number, version, body, response, faults);
    } else if (edge === 'whatsapp_business_encryption' && request.method === 'POST') {
      await uploadBusinessKey(number, request, body, response, this.#fail);
    } else if (edge === 'whatsapp_business_encryption' && request.method === 'GET') {
      readBusinessKey(number, response);
    } else {
      this.#fail(response, number, { code: 100, details: `${request.method} is not supported on ${edge}` });
    }
  }

  #latencyOf(faults: FaultSettings): number {
    const latency = faults.latencyMs ?? 0;
    return typeof latency === 'number' ? latency : latency.min + this.#random() * (latency.max - latency.min);
  }
}
