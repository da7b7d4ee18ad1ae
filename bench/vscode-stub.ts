/**
 * A minimal in-memory `vscode` module for timing activate() in a plain Node process ("a stub
 * host"). It implements what activation touches (registrations, tree views, output channels,
 * configuration, secrets) as cheap no-ops, and answers anything else with an inert object, so
 * the figure is the extension's own work, not VS Code's. Calls are counted for the report.
 */
import Module from 'node:module';

export const calls = new Map<string, number>();
const count = (name: string): void => void calls.set(name, (calls.get(name) ?? 0) + 1);

class Disposable {
  constructor(private readonly fn: () => void = () => undefined) {}
  static from(...items: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => items.forEach((i) => i.dispose()));
  }
  dispose(): void {
    this.fn();
  }
}

class EventEmitter<T> {
  private listeners = new Set<(e: T) => unknown>();
  readonly event = (listener: (e: T) => unknown): Disposable => {
    this.listeners.add(listener);
    return new Disposable(() => this.listeners.delete(listener));
  };
  fire(e: T): void {
    for (const l of [...this.listeners]) l(e);
  }
  dispose(): void {
    this.listeners.clear();
  }
}

/** Anything not modelled: callable, constructible, every property another inert object. */
function inert(name: string): unknown {
  const cache = new Map<PropertyKey, unknown>();
  const target = function () {
    /* inert */
  };
  return new Proxy(target, {
    get(_t, prop) {
      if (prop === 'then') return undefined; // not a thenable: `await inert` gives the object
      if (prop === Symbol.toPrimitive) return () => '';
      if (prop === Symbol.iterator) return function* () {
        /* empty */
      };
      if (prop === 'dispose') return () => undefined;
      if (typeof prop === 'symbol') return undefined;
      if (!cache.has(prop)) cache.set(prop, inert(`${name}.${prop}`));
      return cache.get(prop);
    },
    apply() {
      count(name);
      return inert(`${name}()`);
    },
    construct() {
      count(`new ${name}`);
      return inert(`${name}#`) as object;
    },
  });
}

const event = (name: string) => (): Disposable => (count(name), new Disposable());

function treeView(): unknown {
  return {
    onDidChangeVisibility: event('treeView.onDidChangeVisibility'),
    onDidExpandElement: event('treeView.onDidExpandElement'),
    onDidCollapseElement: event('treeView.onDidCollapseElement'),
    onDidChangeSelection: event('treeView.onDidChangeSelection'),
    onDidChangeCheckboxState: event('treeView.onDidChangeCheckboxState'),
    visible: false,
    selection: [],
    message: undefined,
    title: undefined,
    description: undefined,
    badge: undefined,
    reveal: async () => undefined,
    dispose: () => undefined,
  };
}

const window = new Proxy(
  {
    createOutputChannel: (name: string) => {
      count('window.createOutputChannel');
      return { name, append() {}, appendLine() {}, replace() {}, clear() {}, show() {}, hide() {}, dispose() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {}, logLevel: 2, onDidChangeLogLevel: event('log.onDidChangeLogLevel') };
    },
    createTreeView: () => (count('window.createTreeView'), treeView()),
    registerTreeDataProvider: () => (count('window.registerTreeDataProvider'), new Disposable()),
    registerUriHandler: () => (count('window.registerUriHandler'), new Disposable()),
    registerWebviewViewProvider: () => (count('window.registerWebviewViewProvider'), new Disposable()),
    createStatusBarItem: () => (count('window.createStatusBarItem'), { text: '', tooltip: '', command: undefined, show() {}, hide() {}, dispose() {} }),
    onDidChangeActiveTextEditor: event('window.onDidChangeActiveTextEditor'),
    onDidChangeVisibleTextEditors: event('window.onDidChangeVisibleTextEditors'),
    onDidCloseTerminal: event('window.onDidCloseTerminal'),
    onDidChangeWindowState: event('window.onDidChangeWindowState'),
    activeTextEditor: undefined,
    visibleTextEditors: [],
    terminals: [],
    state: { focused: true },
  } as Record<string, unknown>,
  { get: (t, p: string) => (p in t ? t[p] : inert(`window.${p}`)) },
);

const configuration = {
  get: <T>(_key: string, def?: T) => def,
  has: () => false,
  inspect: () => undefined,
  update: async () => undefined,
};

const workspace = new Proxy(
  {
    getConfiguration: () => (count('workspace.getConfiguration'), configuration),
    onDidChangeConfiguration: event('workspace.onDidChangeConfiguration'),
    onDidChangeTextDocument: event('workspace.onDidChangeTextDocument'),
    onDidSaveTextDocument: event('workspace.onDidSaveTextDocument'),
    onDidOpenTextDocument: event('workspace.onDidOpenTextDocument'),
    onDidCloseTextDocument: event('workspace.onDidCloseTextDocument'),
    onDidChangeWorkspaceFolders: event('workspace.onDidChangeWorkspaceFolders'),
    registerTextDocumentContentProvider: () => (count('workspace.registerTextDocumentContentProvider'), new Disposable()),
    registerFileSystemProvider: () => (count('workspace.registerFileSystemProvider'), new Disposable()),
    createFileSystemWatcher: () => (count('workspace.createFileSystemWatcher'), { onDidCreate: event('fsw'), onDidChange: event('fsw'), onDidDelete: event('fsw'), dispose() {} }),
    findFiles: async () => [],
    workspaceFolders: undefined,
    textDocuments: [],
    isTrusted: true,
  } as Record<string, unknown>,
  { get: (t, p: string) => (p in t ? t[p] : inert(`workspace.${p}`)) },
);

class Uri {
  constructor(
    readonly scheme: string,
    readonly authority: string,
    readonly path: string,
    readonly query: string,
    readonly fragment: string,
  ) {}
  get fsPath(): string {
    return this.path;
  }
  static parse(s: string): Uri {
    const u = new URL(s);
    return new Uri(u.protocol.replace(/:$/, ''), u.host, u.pathname, u.search.replace(/^\?/, ''), u.hash.replace(/^#/, ''));
  }
  static file(p: string): Uri {
    return new Uri('file', '', p, '', '');
  }
  static from(c: { scheme: string; authority?: string; path?: string; query?: string; fragment?: string }): Uri {
    return new Uri(c.scheme, c.authority ?? '', c.path ?? '', c.query ?? '', c.fragment ?? '');
  }
  static joinPath(base: Uri, ...segments: string[]): Uri {
    return new Uri(base.scheme, base.authority, [base.path, ...segments].join('/'), base.query, base.fragment);
  }
  with(c: Partial<Uri>): Uri {
    return new Uri(c.scheme ?? this.scheme, c.authority ?? this.authority, c.path ?? this.path, c.query ?? this.query, c.fragment ?? this.fragment);
  }
  toString(): string {
    return `${this.scheme}://${this.authority}${this.path}${this.query ? '?' + this.query : ''}`;
  }
}

class TreeItem {
  constructor(
    public label: unknown,
    public collapsibleState?: number,
  ) {}
}

export const vscodeStub: Record<string, unknown> = new Proxy(
  {
    version: '1.100.0',
    env: { appName: 'Stub Host', uiKind: 1, language: 'en', machineId: 'bench', sessionId: 'bench', clipboard: { writeText: async () => undefined, readText: async () => '' }, openExternal: async () => true, asExternalUri: async (u: unknown) => u, uriScheme: 'vscode' },
    UIKind: { Desktop: 1, Web: 2 },
    window,
    workspace,
    commands: {
      registerCommand: () => (count('commands.registerCommand'), new Disposable()),
      registerTextEditorCommand: () => (count('commands.registerTextEditorCommand'), new Disposable()),
      executeCommand: async () => (count('commands.executeCommand'), undefined),
      getCommands: async () => [],
    },
    languages: new Proxy({} as Record<string, unknown>, { get: (_t, p: string) => (...args: unknown[]) => (count(`languages.${p}`), void args, p.startsWith('create') ? inert(`languages.${p}()`) : new Disposable()) }),
    authentication: new Proxy({} as Record<string, unknown>, { get: (_t, p: string) => (p.startsWith('on') ? event(`authentication.${p}`) : () => (count(`authentication.${p}`), new Disposable())) }),
    Disposable,
    EventEmitter,
    Uri,
    TreeItem,
    TreeItemCollapsibleState: { None: 0, Collapsed: 1, Expanded: 2 },
    ThemeIcon: class ThemeIcon {
      static File = {};
      static Folder = {};
      constructor(
        readonly id: string,
        readonly color?: unknown,
      ) {}
    },
    ThemeColor: class ThemeColor {
      constructor(readonly id: string) {}
    },
    MarkdownString: class MarkdownString {
      constructor(public value = '') {}
      appendMarkdown(s: string) {
        this.value += s;
        return this;
      }
      appendText(s: string) {
        this.value += s;
        return this;
      }
    },
    StatusBarAlignment: { Left: 1, Right: 2 },
    ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
    ViewColumn: { Active: -1, Beside: -2, One: 1 },
    DiagnosticSeverity: { Error: 0, Warning: 1, Information: 2, Hint: 3 },
    ConfigurationTarget: { Global: 1, Workspace: 2, WorkspaceFolder: 3 },
    LogLevel: { Off: 0, Trace: 1, Debug: 2, Info: 3, Warning: 4, Error: 5 },
    CancellationError: class CancellationError extends Error {},
  } as Record<string, unknown>,
  { get: (t, p: string) => (p in t ? t[p] : inert(p)) },
);

/** Memento backed by a Map. */
function memento(): unknown {
  const m = new Map<string, unknown>();
  return { get: (k: string, d?: unknown) => (m.has(k) ? m.get(k) : d), update: async (k: string, v: unknown) => void m.set(k, v), keys: () => [...m.keys()], setKeysForSync() {} };
}

/** An ExtensionContext with empty secrets and state, as on a first start. */
export function stubContext(extensionPath: string, packageJSON: unknown): Record<string, unknown> {
  const secrets = new Map<string, string>();
  const changed = new EventEmitter<{ key: string }>();
  return {
    subscriptions: [] as { dispose(): unknown }[],
    extensionPath,
    extensionUri: Uri.file(extensionPath),
    extension: { id: 'openkitchen.open-kitchen', packageJSON, extensionPath, extensionUri: Uri.file(extensionPath) },
    globalState: memento(),
    workspaceState: memento(),
    secrets: {
      get: async (k: string) => secrets.get(k),
      store: async (k: string, v: string) => void secrets.set(k, v),
      delete: async (k: string) => void secrets.delete(k),
      onDidChange: changed.event,
    },
    globalStorageUri: Uri.file(`${extensionPath}/.bench-global`),
    storageUri: undefined,
    logUri: Uri.file(`${extensionPath}/.bench-log`),
    extensionMode: 1,
    asAbsolutePath: (p: string) => `${extensionPath}/${p}`,
    environmentVariableCollection: inert('environmentVariableCollection'),
  };
}

/** Makes `require('vscode')` resolve to the stub in this process. */
export function installVscodeStub(): void {
  const M = Module as unknown as { _resolveFilename: (req: string, ...rest: unknown[]) => string; _cache: Record<string, unknown> };
  const original = M._resolveFilename;
  const id = '\0vscode-stub';
  M._cache[id] = { id, filename: id, loaded: true, exports: vscodeStub };
  M._resolveFilename = function (req: string, ...rest: unknown[]) {
    return req === 'vscode' ? id : original.call(this, req, ...rest);
  };
}
