"""Pretraining (tcd.pretrain): the generated pairs, the towers every variant starts from, the visual oracle."""

import dataclasses

import numpy as np
import pytest
import torch

from tcd.config import TrainConfig, load_params, model_config, pretrain_checkpoint
from tcd.model import ModelConfig, build_model, load_model
from tcd.model.encoders import _digest
from tcd.pretrain import (ATTRIBUTES, ORACLE_LADDER, caption_visuals, heldout_clips, make_pairs, pretrain_config,
                          visual_oracle_scores)
from tcd.train import make_optimizer

SMALL = dict(vision_layers=1, vision_width=64, vision_heads=2, embed_dim=64, ctcd_heads=2, num_frames=2, image_size=32)


@pytest.fixture
def params(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(f"paths: {{work: {tmp_path / 'work'}}}\nframes: {{num_frames: 2, size: 32}}\n"
                    "pretrain: {clips: 6, batch_size: 3}\n")
    return load_params(path)


def test_pairs_are_the_same_with_any_number_of_processes_and_describe_only_visuals(params):
    one, two = make_pairs(params, n=6, workers=1), make_pairs(params, n=6, workers=2)
    assert np.array_equal(one.frames, two.frames) and one.captions == two.captions
    assert one.frames.shape == (6, 1, 32, 32, 3) and one.frames.dtype == np.uint8   # image-text pairs, as CLIP's
    assert not one.window_mask.any()                          # no OCR: the pretrained model never reads windows
    for caption in one.captions:
        phrases, domain = caption_visuals(caption)
        assert phrases and domain and '"' not in caption       # a visual phrase and a scene, never a quote
    other = make_pairs(dataclasses.replace(params, pretrain=dataclasses.replace(params.pretrain, seed=7)), n=6, workers=1)
    assert other.captions != one.captions                     # its own seed decides the clips


def test_heldout_clips_are_never_training_pairs_and_keep_every_sampled_frame(params):
    held = heldout_clips(params, n=4, workers=1)
    assert held.frames.shape == (4, 2, 32, 32, 3) and held.frame_mask.all()   # every frame the study samples
    pairs = make_pairs(params, n=6, workers=1)
    assert not set(held.captions) & set(pairs.captions)       # another stream of the same seed: no training clip
    assert heldout_clips(params, n=4, workers=2).captions == held.captions
    bigger = dataclasses.replace(params, pretrain=dataclasses.replace(params.pretrain, clips=12))
    assert heldout_clips(bigger, n=4, workers=1).captions == held.captions   # the same check for any pretraining size


def test_caption_visuals_reads_every_phrase_and_the_scene():
    phrases, domain = caption_visuals("Two red circles move to the left and a blue star moves upward in the kitchen.")
    assert phrases == [{"count": 2, "colour": "red", "shape": "circle", "direction": "left"},
                       {"count": 1, "colour": "blue", "shape": "star", "direction": "up"}]
    assert domain == "Cooking"
    assert caption_visuals('The sign says "OPEN" on the road.') == ([], "Driving")


def test_visual_oracle_scores_count_matched_attributes_plus_the_scene():
    videos = [{"objects": [{"count": 2, "colour": "red", "shape": "circle", "direction": "left"}]},
              {"objects": [{"count": 1, "colour": "red", "shape": "circle", "direction": "right"},
                           {"count": 1, "colour": "blue", "shape": "star", "direction": "up"}]}]
    captions = ["Two red circles move to the left in the kitchen.",
                "A blue star moves upward on the road.",
                'The sign says "OPEN" in the kitchen.']
    sim = visual_oracle_scores(captions, videos, ["Cooking", "Driving"])
    # caption 0: video 0 has all 4 attributes + the scene; video 1's best group (a red circle moving right) 2 of 4
    # caption 1: video 0 none of the 4, another scene; video 1 all 4 + the scene
    # caption 2: no visual phrase: the scene alone
    assert sim.tolist() == [[5.0, 2.0], [0.0, 5.0], [1.0, 0.0]]


def test_the_oracle_ladder_counts_only_the_attributes_it_is_given():
    videos = [{"objects": [{"count": 2, "colour": "red", "shape": "circle", "direction": "left"}]},
              {"objects": [{"count": 1, "colour": "red", "shape": "star", "direction": "left"}]}]
    captions = ["Two red circles move to the left in the kitchen."]
    domains = ["Cooking", "Cooking"]
    # colour alone (and the scene): both videos have a red group, a tie (TextVR's rule: a miss at R@1)
    assert visual_oracle_scores(captions, videos, domains, ("colour",)).tolist() == [[2.0, 2.0]]
    # colour and count: only video 0 has two red objects
    assert visual_oracle_scores(captions, videos, domains, ("colour", "count")).tolist() == [[3.0, 2.0]]
    assert visual_oracle_scores(captions, videos, domains, ()).tolist() == [[1.0, 1.0]]   # the scene alone
    assert list(ORACLE_LADDER.values())[-1] == ATTRIBUTES   # the ladder's top rung is the visual oracle itself


def test_the_study_points_the_tiny_vision_tower_at_the_pretrain_checkpoint(params):
    assert model_config(params).vision == str(pretrain_checkpoint(params))
    scratch = dataclasses.replace(params, model=dataclasses.replace(params.model, vision_init="scratch"))
    assert model_config(scratch).vision is None
    assert pretrain_config(params).vision is None and pretrain_config(params).variant == "clip4clip"
    assert pretrain_config(params).num_frames == 1
    with pytest.raises(ValueError, match="vision_init='imagenet'"):
        ModelConfig(vision_init="imagenet")


def test_a_variant_starts_from_the_pretrained_towers_and_trains_them_at_pretrained_lr(tmp_path):
    torch.manual_seed(0)
    pretrained = build_model(ModelConfig(variant="clip4clip", **SMALL))
    path = tmp_path / "pretrain" / "model.pt"
    path.parent.mkdir()
    pretrained.save(path)
    torch.manual_seed(1)
    model = build_model(ModelConfig(variant="tcd", vision=str(path), vision_tuning="finetune", **SMALL))
    for name, value in pretrained.state_dict().items():
        if name.startswith("vision."):
            assert torch.equal(model.state_dict()[name], value), name
    assert torch.equal(model.text.projection.weight, pretrained.text.projection.weight)   # as CLIP's models do
    torch.manual_seed(1)   # model.text_projection fresh: it starts as without a checkpoint
    fresh = build_model(ModelConfig(variant="tcd", vision=str(path), text_projection="fresh", vision_tuning="finetune",
                                    **SMALL))
    torch.manual_seed(1)
    unloaded = build_model(ModelConfig(variant="tcd", **SMALL))
    assert torch.equal(fresh.text.projection.weight, unloaded.text.projection.weight)
    assert not torch.equal(fresh.text.projection.weight, pretrained.text.projection.weight)
    lrs = {}
    for m in (model, fresh):
        group_of = {id(p): g for g in make_optimizer(m, TrainConfig(lr=1e-3, pretrained_lr=1e-4)).param_groups
                    for p in g["params"]}
        lrs[m] = {n: group_of[id(p)]["lr"] for n, p in m.named_parameters() if p.requires_grad}
    assert lrs[model]["vision.backbone.encoder.layers.0.mlp.fc1.weight"] == 1e-4
    assert lrs[model]["vision.projection.weight"] == 1e-4
    assert lrs[model]["text.projection.weight"] == lrs[model]["text.projection.bias"] == 1e-4
    assert lrs[fresh]["text.projection.weight"] == 1e-3    # a new layer
    with pytest.raises(ValueError, match="text_projection='clip'"):
        ModelConfig(text_projection="clip")
    # a fine-tuned checkpoint is whole: loading it never reads the pretrain file
    model.save(tmp_path / "tuned.pt")
    path.unlink()
    again = load_model(tmp_path / "tuned.pt")
    assert all(torch.equal(again.state_dict()[k], v) for k, v in model.state_dict().items() if not k.startswith("text.tower."))


def test_a_frozen_tower_keeps_its_weights_and_computes_each_frame_once(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "model.pt"
    build_model(ModelConfig(variant="clip4clip", **SMALL)).save(path)
    frozen = build_model(ModelConfig(variant="tcd", vision=str(path), vision_tuning="frozen", **SMALL))
    tuned = build_model(ModelConfig(variant="tcd", vision=str(path), vision_tuning="finetune", **SMALL)).eval()
    assert all(p.requires_grad for p in tuned.vision.backbone.parameters())
    frames = torch.randn(3, 2, 3, 32, 32)
    frames[1, 1] = frames[0, 0]   # a repeated frame is computed once
    frozen.train()
    frozen.vision(frames).sum().backward()
    assert all(p.grad is None for p in frozen.vision.backbone.parameters())
    assert frozen.vision.projection.weight.grad is not None          # the projection still learns
    assert len(frozen.vision.memo) == 5 and not any("memo" in k for k in frozen.state_dict())
    optimized = {id(p) for g in make_optimizer(frozen, TrainConfig()).param_groups for p in g["params"]}
    assert not optimized & {id(p) for p in frozen.vision.backbone.parameters()}
    kept = frozen.vision.memo[_digest(frames[2, 1])].clone()
    frozen.vision.memo.clear()                                       # its bits, whatever the batch it came in:
    frozen.eval()                                                    # alone now, at scoring (memoised there too)
    with torch.no_grad():
        assert torch.equal(frozen.vision(frames[2:, 1:])[0, 0], frozen.vision.projection(kept))
        assert len(frozen.vision.memo) == 1
        assert torch.allclose(frozen.vision(frames), tuned.vision(frames), atol=1e-5)
    assert len(frozen.vision.memo) == 5
    again = build_model(ModelConfig(variant="clip4clip", vision=str(path), vision_tuning="frozen", **SMALL))
    assert again.vision.memo is frozen.vision.memo                     # the same weights: one memo per process
    torch.manual_seed(5)
    other = build_model(ModelConfig(variant="tcd", **SMALL))
    frozen.load_state_dict(other.state_dict())                       # new weights: another memo, nothing stale
    assert frozen.vision.memo is not again.vision.memo and not frozen.vision.memo
    with torch.no_grad():
        assert torch.allclose(frozen.vision(frames), other.eval().vision(frames), atol=1e-5)
    scratch = build_model(ModelConfig(variant="clip4clip", vision_tuning="frozen", **SMALL))   # nothing to keep
    assert not scratch.vision.frozen and all(p.requires_grad for p in scratch.vision.parameters())
    with pytest.raises(ValueError, match="vision_tuning='partly'"):
        ModelConfig(vision_tuning="partly")


def test_a_missing_or_mismatched_pretrain_checkpoint_is_an_error_naming_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"dvc repro pretrain.*vision_init: scratch"):
        build_model(ModelConfig(variant="clip4clip", vision=str(tmp_path / "none.pt"), **SMALL))
    build_model(ModelConfig(variant="clip4clip", **SMALL)).save(tmp_path / "small.pt")
    wider = {**SMALL, "vision_width": 128}
    with pytest.raises(ValueError, match=r"small\.pt: pretrained for another architecture \(vision_width differ\)"):
        build_model(ModelConfig(variant="clip4clip", vision=str(tmp_path / "small.pt"), **wider))
    with pytest.raises(ValueError, match=r"small\.pt: pretrained for another architecture \(vision_stem differ\)"):
        build_model(ModelConfig(variant="clip4clip", vision=str(tmp_path / "small.pt"), vision_stem="patch", **SMALL))
