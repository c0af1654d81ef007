// Stands in for `ssh2` in the server bundle: dockerode's modem loads it for ssh:// Docker hosts,
// which the server does not offer (the engine must be local, on a Unix socket), and its
// optional native parts cannot be bundled.
class Client {
  constructor() {
    throw new Error('ssh:// Docker hosts are not supported: use a local engine on a Unix socket');
  }
}
module.exports = { Client };
