"""Protocol flows on the in-process chain: staking, staker and iDAO proposals, verifier admission, signed proofs."""

from __future__ import annotations

from eth_abi import encode as abi_encode
from eth_account import Account as EthAccount
from eth_account.messages import encode_defunct

from hyperion.predeploys import plan as G
from hyperion.lazai.params import param_key, param_named
from hyperion.primitives.keccak import keccak256
from tests.lazai.evm_harness import ETHER, Account, Contract, Evm

FOR, AGAINST = 1, 0


def eth_sign(key: bytes, message_hash: bytes) -> bytes:
    return EthAccount.sign_message(encode_defunct(primitive=message_hash), key).signature


def signed_proof(key: bytes, file_id: int, score: int, url: str, proof_url: str = "ipfs://proof") -> tuple:
    """A verifier's proof as DataRegistry.addProof takes it: (EIP-191 signature, ProofData)."""
    data = (file_id, score, url, proof_url)
    digest = keccak256(abi_encode(["(uint256,uint256,string,string)"], [data]))
    return (eth_sign(key, digest), data)


def param(name: str) -> int:
    return param_named(name).default


class Protocol:
    """Handles on every LazAI predeploy of an Evm, plus the multi-step governance flows."""

    def __init__(self, evm: Evm) -> None:
        self.evm = evm
        self.governor = evm.at("ProtocolGovernor", G.PROTOCOL_GOVERNOR_ADDRESS)
        self.vault = evm.at("HoldersMining", G.FEE_VAULT_ADDRESS)
        self.idaos = evm.at("IDAORegistry", G.IDAO_REGISTRY_ADDRESS)
        self.vc = evm.at("VerifiedComputing", G.VERIFIED_COMPUTING_ADDRESS)
        self.registry = evm.at("DataRegistry", G.DATA_REGISTRY_ADDRESS)
        self.dat = evm.at("DAT", G.DAT_ADDRESS)
        self.dat1155 = evm.at("DataAnchoringToken", G.DATA_ANCHORING_TOKEN_ADDRESS)

    # -- staker governance ------------------------------------------------------------------
    def param(self, name: str) -> int:
        return self.governor.call("param", param_key(name))

    def stakers_pass(self, calls: list[tuple[Contract | bytes, str, tuple, int]], voters: list[Account],
                     description: str = "") -> int:
        """Propose `calls` [(contract, function, args, value)], vote for, wait, queue, wait, execute."""
        targets, values, datas = self._actions(calls)
        proposal = self.governor.transact("propose", targets, values, datas, description, sender=voters[0])
        for voter in voters:
            self.governor.transact("castVote", proposal, FOR, sender=voter)
        self.evm.warp(self.param("governor.votingPeriod"))
        self.governor.transact("queue", proposal, targets, values, datas)
        self.evm.warp(self.param("governor.timelockDelay"))
        self.governor.transact("execute", proposal, targets, values, datas, value=sum(values))
        return proposal

    def set_param(self, name: str, value: int, voters: list[Account]) -> None:
        self.stakers_pass([(self.governor, "setParam", (param_key(name), value), 0)], voters)

    # -- iDAOs -------------------------------------------------------------------------------
    def register_idao(self, owner: Account, stake: int, quorum_bps: int = 5_000, voting_period: int = 100,
                      name: str = "dao") -> int:
        return self.idaos.transact("registerIDAO", name, "ipfs://" + name, quorum_bps, voting_period,
                                   sender=owner, value=stake)

    def executor(self, idao: int) -> str:
        return self.idaos.call("executorOf", idao)

    def idao_propose(self, idao: int, calls, proposer: Account, description: str = "") -> tuple[int, tuple]:
        actions = self._actions(calls)
        proposal = self.idaos.transact("propose", idao, *actions, description, sender=proposer)
        return proposal, actions

    def idao_finish(self, proposal: int, actions: tuple, value: int = 0) -> None:
        """After the vote: wait out the deadline, queue, wait out the timelock, execute."""
        deadline = self.idaos.call("getProposal", proposal)[4]
        self.evm.warp(max(0, deadline - self.evm.timestamp + 1))
        self.idaos.transact("queue", proposal, *actions)
        delay = self.idaos.call("getProposal", proposal)[9]
        self.evm.warp(delay)
        self.idaos.transact("execute", proposal, *actions, value=value)

    def idao_pass(self, idao: int, calls, voters: list[Account], value: int = 0) -> int:
        proposal, actions = self.idao_propose(idao, calls, voters[0])
        for voter in voters:
            self.idaos.transact("castVote", proposal, FOR, sender=voter)
        self.idao_finish(proposal, actions, value)
        return proposal

    def admit_verifier(self, idao: int, verifier: Account, voters: list[Account], bond: int | None = None) -> int:
        """Stake and bond for `verifier`, then pass an admission proposal in `idao`."""
        bond = self.param("verifiers.minBond") if bond is None else bond
        if bond:
            self.vault.transact("stake", sender=verifier, value=bond)
            self.vault.transact("bond", bond, sender=verifier)
        proposal = self.idaos.transact("proposeAdmitVerifier", idao, verifier.hex, "http://verifier", "pk",
                                       sender=voters[0])
        for voter in voters:
            self.idaos.transact("castVote", proposal, FOR, sender=voter)
        actions = self.admission_actions(proposal)
        self.idao_finish(proposal, actions)
        return proposal

    def admission_actions(self, proposal: int) -> tuple:
        """The single call an admission proposal makes (rebuilt as the registry encodes it)."""
        for entry in self._created_events(proposal):
            return entry
        raise AssertionError("no ProposalCreated event seen")

    def _created_events(self, proposal: int):
        for log in self.evm.logs_seen:
            decoded = self.idaos.decode_log(log)
            if decoded and decoded["event"] == "ProposalCreated" and decoded["proposalId"] == proposal:
                yield (list(decoded["targets"]), list(decoded["values"]), list(decoded["calldatas"]))

    # -- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _actions(calls) -> tuple[list, list, list]:
        targets, values, datas = [], [], []
        for target, function, args, value in calls:
            if isinstance(target, Contract):
                targets.append("0x" + target.address.hex())
                datas.append(target.calldata(function, *args))
            else:
                targets.append("0x" + bytes(target).hex())
                datas.append(function)  # raw calldata
            values.append(value)
        return targets, values, datas


def verifier_world(evm: Evm, stake: int = 200 * ETHER):
    """A Protocol plus an iDAO that meets the admission floors, owned by accounts[1], and two stakers' votes."""
    protocol = Protocol(evm)
    owner = evm.accounts[1]
    idao = protocol.register_idao(owner, stake, quorum_bps=5_000, voting_period=100, name="verifiers")
    evm.warp(1)
    return protocol, idao, owner
