// What a process's open file descriptors are, from /proc (Linux): each fd's link target says its
// type (socket, pipe, anon_inode, file), and a TCP socket's inode, looked up in /proc/PID/net/tcp
// and tcp6, gives its local and remote ports, so that a connection is named by the server it
// goes to (Redis, PostgreSQL) or comes from (the app's HTTP port).
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'

/** The ports that name a connection. */
export interface Ports {
  redis: number
  postgres: number
  /** The app's HTTP port. */
  http: number
}

/** Open fds by kind. */
export interface FdKinds {
  total: number
  /** TCP connections to Redis. */
  redis: number
  /** TCP connections to PostgreSQL. */
  postgres: number
  /** Accepted HTTP connections (on the app's port). */
  httpIn: number
  /** HTTP client connections to the app's port (the load generator's pool). */
  httpOut: number
  /** Listening TCP sockets. */
  listen: number
  /** Other sockets (TCP to other ports, UDP, netlink): none expected. */
  other: number
  /** Unix sockets (the IPC channel with the parent or children). */
  unix: number
  pipe: number
  /** epoll, eventfd, timerfd, signalfd... (libuv's and V8's own). */
  anon: number
  /** Files and devices (/dev/null, the terminal, logs). */
  file: number
  /** Of the TCP sockets above, those the other end has closed but this process has not. */
  closeWait: number
}

export const fdKindNames = [
  'redis',
  'postgres',
  'httpIn',
  'httpOut',
  'listen',
  'other',
  'unix',
  'pipe',
  'anon',
  'file',
] as const

interface TcpSocket {
  localPort: number
  remotePort: number
  /** /proc/net/tcp's state, in hex: 01 established, 08 close-wait, 0A listen. */
  state: string
}

const LISTEN = '0A'
const CLOSE_WAIT = '08'

/** Every TCP socket of `pid`'s network namespace, by inode. */
function tcpSockets(pid: number): Map<string, TcpSocket> {
  const sockets = new Map<string, TcpSocket>()
  for (const table of ['tcp', 'tcp6']) {
    const lines = readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)
    for (const line of lines) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/)
      const [, local, remote, state, , , , , , inode] = fields
      if (inode === undefined || local === undefined || remote === undefined) continue
      sockets.set(inode, {
        localPort: parseInt(local.split(':')[1]!, 16),
        remotePort: parseInt(remote.split(':')[1]!, 16),
        state: state!,
      })
    }
  }
  return sockets
}

/** Unix socket inodes of `pid`'s network namespace. */
function unixSockets(pid: number): Set<string> {
  const lines = readFileSync(`/proc/${pid}/net/unix`, 'utf8').split('\n').slice(1)
  return new Set(lines.map((line) => line.trim().split(/\s+/)[6]).filter((i) => i !== undefined))
}

/** `pid`'s open fds by kind; `undefined` if the process is gone. */
export function fdKinds(pid: number, ports: Ports): FdKinds | undefined {
  const kinds: FdKinds = {
    total: 0,
    redis: 0,
    postgres: 0,
    httpIn: 0,
    httpOut: 0,
    listen: 0,
    other: 0,
    unix: 0,
    pipe: 0,
    anon: 0,
    file: 0,
    closeWait: 0,
  }
  let fds: string[]
  try {
    fds = readdirSync(`/proc/${pid}/fd`)
  } catch {
    return undefined
  }
  const tcp = tcpSockets(pid)
  const unix = unixSockets(pid)
  for (const fd of fds) {
    let target: string
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`)
    } catch {
      continue // closed while being read
    }
    kinds.total++
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1]
    if (inode !== undefined) {
      const socket = tcp.get(inode)
      if (socket === undefined) {
        if (unix.has(inode)) kinds.unix++
        else kinds.other++
        continue
      }
      if (socket.state === CLOSE_WAIT) kinds.closeWait++
      if (socket.state === LISTEN) kinds.listen++
      else if (socket.remotePort === ports.redis) kinds.redis++
      else if (socket.remotePort === ports.postgres) kinds.postgres++
      else if (socket.localPort === ports.http) kinds.httpIn++
      else if (socket.remotePort === ports.http) kinds.httpOut++
      else kinds.other++
    } else if (target.startsWith('pipe:')) kinds.pipe++
    else if (target.startsWith('anon_inode:')) kinds.anon++
    else kinds.file++
  }
  return kinds
}

/** Resident set size of `pid` in bytes (0 if it is gone). */
export function rssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024
  } catch {
    return 0
  }
}
