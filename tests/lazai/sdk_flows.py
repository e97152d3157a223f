"""Multi-step LazAI flows against a node through hyperion.sdk, shared by the end-to-end tests."""

from __future__ import annotations

from eth_account import Account

from hyperion.sdk import connect

ETHER = 10**18


def fresh(node, funder, label: str, amount: int = 500 * ETHER):
    """A brand-new key funded by `funder` (an attacker of the issue had nothing else)."""
    account = Account.from_key(bytes.fromhex(Account.create(label).key.hex().removeprefix("0x")))
    funder.client.send_value(account.address, amount)
    return connect(node.url, account.key)


def settle_block(lazai) -> None:
    """Stake counts in votes from the end of its block: let one block pass before proposing."""
    lazai.client.increase_time(1)


def verifier_idao(owner) -> int:
    """An iDAO whose stake meets the verifier-admission floor, `owner` holding it all."""
    return owner.idao.register("verifiers", "ipfs://verifiers", 5_000, 600,
                               stake=owner.governance.param("verifiers.minIDAOStake"))


def admit(owner, verifier, idao_id: int) -> None:
    """Bond the verifier's stake and pass an admission vote in `idao_id` (`owner` holds the votes)."""
    bond = owner.governance.param("verifiers.minBond")
    verifier.staking.stake(bond)
    verifier.staking.bond(bond)
    settle_block(owner)
    proposal = owner.idao.propose_admit_verifier(idao_id, verifier.client.address, "http://verifier", "pk")
    owner.idao.vote(proposal, True)
    owner.idao.finish(proposal)
    assert owner.data.is_verifier(verifier.client.address)
