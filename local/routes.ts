/**
 * Route templates as the Functions host understands them: `tasks/{id}/ack`, optional `{id?}`, constraints such as
 * `{id:guid}` (the constraint is accepted and ignored locally).
 */
export interface CompiledRoute {
  template: string;
  match(path: string): Record<string, string> | undefined;
}

export function compileRoute(template: string): CompiledRoute {
  const names: string[] = [];
  const pattern = template
    .split("/")
    .map((segment) => {
      const m = /^\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}?]+)?(\?)?\}$/.exec(segment);
      if (!m?.[1]) return `/${segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`;
      names.push(m[1]);
      return m[2] ? "(?:/([^/]+))?" : "/([^/]+)";
    })
    .join("");
  const regex = new RegExp(`^${pattern}/?$`, "i");
  return {
    template,
    match(path) {
      const m = regex.exec(path);
      if (!m) return undefined;
      const params: Record<string, string> = {};
      names.forEach((name, i) => {
        const value = m[i + 1];
        if (value !== undefined) params[name] = decodeURIComponent(value);
      });
      return params;
    },
  };
}
