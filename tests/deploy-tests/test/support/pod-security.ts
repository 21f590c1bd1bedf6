// The `restricted` Pod Security Standard (Kubernetes, latest), checked on a pod spec the way the
// PodSecurity admission controller does, so a violation shows up here instead of as a
// "forbidden: violates PodSecurity" event on the cluster. Each rule names its control.

/** A probe or lifecycle hook, as far as the standard looks at it: the host it targets. */
interface HostTarget {
  httpGet?: { host?: string };
  tcpSocket?: { host?: string };
}

/** Container fields the standard looks at. */
export interface SecuredContainer {
  name: string;
  ports?: { name?: string; hostPort?: number }[];
  securityContext?: ContainerSecurityContext;
  livenessProbe?: HostTarget;
  readinessProbe?: HostTarget;
  startupProbe?: HostTarget;
  lifecycle?: { postStart?: HostTarget; preStop?: HostTarget };
}

interface SeccompProfile {
  type?: string;
}

interface SeLinuxOptions {
  type?: string;
  user?: string;
  role?: string;
}

/** A container's securityContext, as far as the standard looks at it. */
export interface ContainerSecurityContext {
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  runAsNonRoot?: boolean;
  runAsUser?: number;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: SeccompProfile;
  seLinuxOptions?: SeLinuxOptions;
  procMount?: string;
  appArmorProfile?: { type?: string };
  windowsOptions?: { hostProcess?: boolean };
}

/** Pod spec fields the standard looks at. */
export interface PodSpecForSecurity {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    seccompProfile?: SeccompProfile;
    seLinuxOptions?: SeLinuxOptions;
    sysctls?: { name: string }[];
    appArmorProfile?: { type?: string };
    windowsOptions?: { hostProcess?: boolean };
  };
  volumes?: Record<string, unknown>[];
  containers: SecuredContainer[];
  initContainers?: SecuredContainer[];
  ephemeralContainers?: SecuredContainer[];
}

const ALLOWED_VOLUME_TYPES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
const ALLOWED_SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);
// The kubelet runs probes and hooks from the node; a host other than the pod's own (unset) or
// loopback would let a pod aim it anywhere (baseline since v1.34).
const ALLOWED_PROBE_HOSTS = new Set(['', '127.0.0.1', '::1']);
const APPARMOR_ANNOTATION = 'container.apparmor.security.beta.kubernetes.io/';

function seccompAllowed(profile: SeccompProfile | undefined): boolean | undefined {
  if (profile?.type === undefined) return undefined;
  return profile.type === 'RuntimeDefault' || profile.type === 'Localhost';
}

function seLinuxProblems(options: SeLinuxOptions | undefined, where: string): string[] {
  if (!options) return [];
  const problems: string[] = [];
  if (!ALLOWED_SELINUX_TYPES.has(options.type ?? ''))
    problems.push(`${where}: seLinuxOptions.type ${options.type} is not allowed (SELinux)`);
  if (options.user || options.role) problems.push(`${where}: seLinuxOptions user/role must be unset (SELinux)`);
  return problems;
}

function appArmorProblems(profile: { type?: string } | undefined, where: string): string[] {
  if (profile?.type === 'Unconfined') return [`${where}: appArmorProfile Unconfined is not allowed (AppArmor)`];
  return [];
}

// The annotations older manifests still use instead of appArmorProfile.
function appArmorAnnotationProblems(annotations: Readonly<Record<string, string>>, where: string): string[] {
  return Object.entries(annotations)
    .filter(
      ([key, value]) =>
        key.startsWith(APPARMOR_ANNOTATION) &&
        value !== '' &&
        value !== 'runtime/default' &&
        !value.startsWith('localhost/'),
    )
    .map(([key, value]) => `${where}: annotation ${key}: ${value} is not allowed (AppArmor)`);
}

function probeHostProblems(container: SecuredContainer, where: string): string[] {
  const targets = [
    container.livenessProbe,
    container.readinessProbe,
    container.startupProbe,
    container.lifecycle?.postStart,
    container.lifecycle?.preStop,
  ];
  return targets
    .flatMap((target) => [target?.httpGet?.host, target?.tcpSocket?.host])
    .filter((host): host is string => host !== undefined && !ALLOWED_PROBE_HOSTS.has(host))
    .map((host) => `${where}: a probe or lifecycle hook targets host ${host} (Host Probes / Lifecycle Hooks)`);
}

/** A pod (or pod template) as far as the standard looks at it. */
export interface PodForSecurity {
  metadata?: { annotations?: Record<string, string> };
  spec: PodSpecForSecurity;
}

/** Every violation of the restricted standard in a pod; empty when it complies. */
export function restrictedViolations({ metadata, spec }: PodForSecurity, where: string): string[] {
  const problems: string[] = [];
  const pod = spec.securityContext ?? {};
  problems.push(...appArmorAnnotationProblems(metadata?.annotations ?? {}, where));
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC)
    problems.push(`${where}: host namespaces must not be shared (Host Namespaces)`);
  if (pod.windowsOptions?.hostProcess) problems.push(`${where}: hostProcess is not allowed (HostProcess)`);
  for (const volume of spec.volumes ?? []) {
    const types = Object.keys(volume).filter((key) => key !== 'name');
    for (const type of types) {
      if (!ALLOWED_VOLUME_TYPES.has(type))
        problems.push(`${where}: volume ${String(volume['name'])} of type ${type} is not allowed (Volume Types)`);
    }
  }
  for (const sysctl of pod.sysctls ?? []) {
    if (!SAFE_SYSCTLS.has(sysctl.name)) problems.push(`${where}: sysctl ${sysctl.name} is not allowed (Sysctls)`);
  }
  problems.push(
    ...seLinuxProblems(pod.seLinuxOptions, `${where} pod`),
    ...appArmorProblems(pod.appArmorProfile, `${where} pod`),
  );
  if (pod.runAsUser === 0) problems.push(`${where}: pod runAsUser 0 (Running as Non-root user)`);
  const podSeccomp = seccompAllowed(pod.seccompProfile);
  if (podSeccomp === false)
    problems.push(`${where}: pod seccompProfile ${pod.seccompProfile?.type} is not allowed (Seccomp)`);

  const containers = [...spec.containers, ...(spec.initContainers ?? []), ...(spec.ephemeralContainers ?? [])];
  for (const container of containers) {
    const at = `${where} container ${container.name}`;
    const sc = container.securityContext ?? {};
    if (sc.privileged) problems.push(`${at}: privileged (Privileged Containers)`);
    if (sc.windowsOptions?.hostProcess) problems.push(`${at}: hostProcess (HostProcess)`);
    if ((container.ports ?? []).some((port) => (port.hostPort ?? 0) !== 0))
      problems.push(`${at}: hostPort (Host Ports)`);
    if (sc.procMount !== undefined && sc.procMount !== 'Default')
      problems.push(`${at}: procMount ${sc.procMount} (/proc Mount Type)`);
    problems.push(
      ...seLinuxProblems(sc.seLinuxOptions, at),
      ...appArmorProblems(sc.appArmorProfile, at),
      ...probeHostProblems(container, at),
    );
    if (sc.allowPrivilegeEscalation !== false)
      problems.push(`${at}: allowPrivilegeEscalation must be false (Privilege Escalation)`);
    if (sc.runAsNonRoot === false || (sc.runAsNonRoot !== true && pod.runAsNonRoot !== true)) {
      problems.push(`${at}: runAsNonRoot must be true on the pod or the container (Running as Non-root)`);
    }
    if (sc.runAsUser === 0) problems.push(`${at}: runAsUser 0 (Running as Non-root user)`);
    const seccomp = seccompAllowed(sc.seccompProfile);
    if (seccomp === false || (seccomp === undefined && podSeccomp !== true)) {
      problems.push(
        `${at}: seccompProfile RuntimeDefault or Localhost must be set on the pod or the container (Seccomp)`,
      );
    }
    if (!(sc.capabilities?.drop ?? []).includes('ALL'))
      problems.push(`${at}: capabilities must drop ALL (Capabilities)`);
    for (const capability of sc.capabilities?.add ?? []) {
      if (capability !== 'NET_BIND_SERVICE')
        problems.push(`${at}: capability ${capability} may not be added (Capabilities)`);
    }
  }
  return problems;
}
